# sidekiq-cron as its users run it, for the benchmark (bench/sidekiq-cron.ts): a Sidekiq server
# loads this with
#   REDIS_URL=redis://127.0.0.1:PORT CRON_SCHEDULE='{"tick":{...}}' CRON_POLL_INTERVAL=1 \
#     sidekiq -r ./bench/sidekiq_cron_boot.rb -q idle -c 1
# and sidekiq-cron's own poller thread enqueues the schedule's jobs. Sidekiq 6 reads REDIS_URL
# itself. Nothing here changes how sidekiq-cron decides or enqueues: only its settings are set.
require "json"
require "sidekiq"
require "sidekiq/cron" # what `gem "sidekiq-cron"` in a Gemfile loads; hooks the poller into the launcher

# Read by Sidekiq::Cron::Launcher#initialize, so it must be set before the launcher is built (the
# CLI requires this file first). Seconds, default 30; 0 turns the poller off (the baseline process).
Sidekiq.options[:cron_poll_interval] = Float(ENV.fetch("CRON_POLL_INTERVAL", "1"))
# Set, Sidekiq's pollers skip their fixed 10 s initial wait (they still wait 0-5 s at random). The
# value is Sidekiq 6.4's own default for the scheduled-job poller: 5 s times the process count.
Sidekiq.options[:poll_interval_average] = 5 * Integer(ENV.fetch("SIDEKIQ_PROCESSES", "1"))

schedule = ENV["CRON_SCHEDULE"]
if schedule
  Sidekiq.configure_server do |config|
    # The README's way: load the schedule when the server starts (every process does it).
    config.on(:startup) { Sidekiq::Cron::Job.load_from_hash(JSON.parse(schedule)) }
  end
end

# The job class: never performed here (no process listens to its queue; the benchmark pops it).
class TickJob
  include Sidekiq::Worker

  def perform(*); end
end
