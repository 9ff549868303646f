"""What leaves the server: reports, webhooks, reminders, CSV safety."""
