import { defineConfig } from "the-clock";

export default defineConfig({
  timezone: "UTC",
  adapter: "sidekiq",
  schedules: {
    "daily-report": {
      cron: "0 9 * * 1-5",
      timezone: "America/New_York",
      description: "Sales report for the New York office, weekdays at 09:00",
      job: { class: "DailyReportJob", args: [42], queue: "reports" },
    },
    "refresh-feeds": { every: "3h", job: { class: "RefreshFeedsJob" } },
    cleanup: { at: ["03:00", "15:00"], job: { class: "CleanupJob", queue: "low" } },
    "london-digest": {
      at: "Monday 08:30",
      timezone: "Europe/London",
      job: { class: "WeeklyDigestJob", args: [{ region: "uk" }] },
    },
    "month-end-invoices": {
      cron: "0 18 L * *",
      timezone: "Australia/Sydney",
      catchUp: { policy: "all", window: "6h", max: 3 },
      job: { class: "InvoiceJob", args: ["month-end"], queue: "billing", options: { retry: 5 } },
    },
    heartbeat: { every: "10s", job: { class: "HeartbeatJob", queue: "default" } },
  },
});
