// Consent screen: two separate, unticked consents (PIPL Art. 29 "separate consent").
import { $, focusEl, show } from "../common/dom.js";
import { i18n, t } from "./i18n.js";

const SECTION_ORDER = ["self_intro", "structured", "professional"];

export function createConsentScreen({ api, onDone }) {
  const rec = $("#consent-recording");
  const ana = $("#consent-analysis");
  const accept = $("#consent-accept");
  const decline = $("#consent-decline");
  const confirm = $("#decline-confirm");
  const yes = $("#decline-yes");
  const no = $("#decline-no");
  const error = $("#consent-error");
  let state = null;
  let busy = false;

  const update = () => {
    accept.disabled = busy || !(rec.checked && ana.checked);
    decline.disabled = busy;
    yes.disabled = busy;
    show($("#consent-hint"), !(rec.checked && ana.checked));
  };
  rec.addEventListener("change", update);
  ana.addEventListener("change", update);

  async function submit(decision) {
    if (busy) return;
    busy = true;
    update();
    show(error, false);
    try {
      const next = await api.consent(decision, {
        recording: decision === "accept" && rec.checked,
        analysis: decision === "accept" && ana.checked,
        textVersion: state?.consent_text_version,
      });
      onDone(next);
    } catch (err) {
      error.textContent = err && err.isLinkProblem ? t("error.unauthorized") : t("consent.error");
      show(error, true);
      onDone(null, err);
    } finally {
      busy = false;
      update();
    }
  }

  accept.addEventListener("click", () => submit("accept"));
  decline.addEventListener("click", () => {
    show(confirm, true);
    show($("#consent-actions"), false);
    focusEl(no);
  });
  no.addEventListener("click", () => {
    show(confirm, false);
    show($("#consent-actions"), true);
    focusEl(decline);
  });
  yes.addEventListener("click", () => submit("decline"));

  function renderTexts() {
    if (!state) return;
    $("#consent-title").textContent = t("consent.title", { job: state.job_title || "" });
    $("#consent-org").textContent = state.org_name || "";
    show($("#consent-org"), !!state.org_name);
    $("#consent-greeting").textContent = t("consent.greeting", { name: state.candidate_name || "" });
    const sections = (state.sections || [])
      .filter((s) => s && s.count > 0)
      .sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section));
    const parts = sections
      .map((s) => t("consent.how.part", { name: t(`section.${s.section}`), count: s.count }))
      .join(t("consent.how.partsep"));
    $("#consent-how").textContent = t("consent.how.body", { n: state.questions_total || 0, parts });
    const v = state.consent_text_version;
    $("#consent-version").textContent = v ? t("consent.version", { v }) : "";
  }
  i18n.onChange(renderTexts);

  return {
    render(next) {
      state = next;
      renderTexts();
      update();
    },
  };
}
