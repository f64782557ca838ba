# frozen_string_literal: true

# Worker check-ins for the clock (the-clock on npm): a Sidekiq server middleware that records when
# each job the clock enqueued starts and how it ends, in the clock's own Redis keys, so
# `npx clock history NAME` and the status page show each slot's outcome.
#
#   # config/initializers/sidekiq.rb (or wherever your Sidekiq server is configured)
#   require Rails.root.join("node_modules/the-clock/contrib/sidekiq/clock_check_in")  # or a copy of this file
#   Sidekiq.configure_server do |config|
#     config.server_middleware { |chain| chain.add TheClock::CheckIn }              # namespace "clock"
#     # chain.add TheClock::CheckIn, namespace: "myapp-clock"                       # the config's `namespace`
#   end
#
# Only jobs carrying the clock's metadata (`"clock" => { "schedule" => ..., "slotAt" => ... }` in the
# job hash: every job the clock's sidekiq adapter writes, ActiveJob ones included) are recorded;
# others pass untouched. Recording never fails a job: a Redis error is logged and the job goes on.
#
# What it writes (layout: src/history/store.ts), Redis time, epoch ms, on Sidekiq's own connection:
#   HSET {NS}:outcomes:SCHEDULE JID "STARTED||started|"                    when the job starts
#   HSET {NS}:outcomes:SCHEDULE JID "STARTED|FINISHED|succeeded|"          when it returns
#   HSET {NS}:outcomes:SCHEDULE JID "STARTED|FINISHED|failed|ErrorClass"   when it raises (re-raised)
# each only while {NS}:history-size is above 0 (the leading clock keeps a history), so nothing
# grows that the clock does not trim. A retry runs with the same jid: its start replaces
# the earlier attempt's outcome. With redis-namespace, the clock's keys are written outside the
# Sidekiq namespace (they are the clock's, not Sidekiq's).
require "sidekiq"

module TheClock
  class CheckIn
    # Error classes are cut to this length; "|" and line breaks become spaces (the field's separator).
    MAX_ERROR_CLASS = 100

    def initialize(options = {})
      @namespace = (options[:namespace] || ENV["CLOCK_NAMESPACE"] || "clock").to_s
    end

    def call(_worker, job, _queue)
      clock = job["clock"]
      schedule = clock.is_a?(Hash) ? clock["schedule"] : nil
      jid = job["jid"]
      return yield unless schedule.is_a?(String) && jid.is_a?(String)

      started_at = record(schedule, jid) { |now| "#{now}||started|" }
      begin
        yield
      rescue Exception => e # rubocop:disable Lint/RescueException -- recorded, then re-raised as it came
        error = e.class.name.to_s.gsub(/[|\r\n]+/, " ").strip[0, MAX_ERROR_CLASS]
        record(schedule, jid) { |now| "#{started_at}|#{now}|failed|#{error}" }
        raise
      end
      record(schedule, jid) { |now| "#{started_at}|#{now}|succeeded|" }
    end

    private

    # Writes the outcome the block builds from Redis time (ms) when the schedule has a history;
    # returns that time ("" when it could not be recorded).
    def record(schedule, jid)
      size_key = "{#{@namespace}}:history-size"
      outcomes = "{#{@namespace}}:outcomes:#{schedule}"
      Sidekiq.redis do |conn|
        redis = raw(conn)
        time, size = redis.pipelined do |pipeline|
          pipeline.time
          pipeline.get(size_key)
        end
        now = (time[0].to_i * 1000) + (time[1].to_i / 1000)
        redis.hset(outcomes, jid, yield(now)) if size.to_i.positive?
        now.to_s
      end
    rescue StandardError => e
      Sidekiq.logger.warn("clock check-in for #{schedule} #{jid} not recorded: #{e.class}: #{e.message}")
      ""
    end

    # redis-namespace would prefix the clock's keys with Sidekiq's namespace: write through the client under it.
    def raw(conn)
      defined?(Redis::Namespace) && conn.is_a?(Redis::Namespace) ? conn.redis : conn
    end
  end
end
