package io.ringraft.testkit.sim;

import java.util.PriorityQueue;

/**
 * The simulated clock and the queue of events of a {@link SimCluster}: events run in time order,
 * and in the order they were scheduled at equal times, so a run is a function of its seed.
 */
final class SimScheduler
{
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private long now;
    private long sequence;
    private long events;

    /** @return the simulated time, in nanoseconds since the start */
    long now()
    {
        return now;
    }

    /** @return how many events ran */
    long events()
    {
        return events;
    }

    /**
     * @param time   when to run the action; a time in the past means now
     * @param action what to run
     */
    void schedule(final long time, final Runnable action)
    {
        queue.add(new Event(Math.max(time, now), sequence++, action));
    }

    /**
     * @param until a simulated time
     * @return true if an event is due at or before {@code until}
     */
    boolean hasEventBy(final long until)
    {
        return !queue.isEmpty() && queue.peek().time <= until;
    }

    /** @return the next event's action, with the clock moved to its time; null if none */
    Runnable next()
    {
        final Event event = queue.poll();
        if (event == null)
        {
            return null;
        }
        now = event.time;
        events++;
        return event.action;
    }

    /** Moves the clock forward to {@code time} (never back). */
    void advanceTo(final long time)
    {
        now = Math.max(now, time);
    }

    private static final class Event implements Comparable<Event>
    {
        private final long time;
        private final long seq;
        private final Runnable action;

        private Event(final long time, final long seq, final Runnable action)
        {
            this.time = time;
            this.seq = seq;
            this.action = action;
        }

        @Override
        public int compareTo(final Event other)
        {
            final int byTime = Long.compare(time, other.time);
            return byTime != 0 ? byTime : Long.compare(seq, other.seq);
        }
    }
}
