// ESLint for the browser pages: plain ES modules loaded by the browser (no bundler).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['web/vendor/'] },
  js.configs.recommended,
  {
    files: ['web/**/*.js'],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.browser },
    },
  },
  {
    files: ['eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
];
