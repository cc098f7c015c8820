package io.ringraft.nemesis;

/**
 * What the workload needs of a client of the replicated key-value store: puts, linearizable gets
 * and compare-and-set, each ending exactly once, from inside {@link #poll()}, with a typed outcome.
 * Single-threaded: the thread that submits also polls.
 */
interface NemesisClient extends AutoCloseable
{
    /** How an operation ended, as far as the client can tell. */
    enum Outcome
    {
        /** Done: it took effect exactly once (a read: it saw {@link Result#value()}). */
        OK,
        /** Definitely took no effect (refused, redirected, no leader; a read that did not complete). */
        FAIL,
        /** A write that may or may not have taken effect (timed out after it may have been accepted). */
        UNKNOWN
    }

    /**
     * One operation's end.
     *
     * @param outcome how it ended
     * @param value   a GET's value ({@code null} = absent); a CAS's {@code "true"} or {@code "false"}; else null
     * @param detail  the status the service answered, for the report
     */
    record Result(Outcome outcome, String value, String detail)
    {
    }

    /** Receives an operation's end. */
    @FunctionalInterface
    interface Callback
    {
        /** @param result how it ended */
        void onResult(Result result);
    }

    /** Sets {@code key} to {@code value}. */
    void put(String key, String value, Callback callback);

    /** Reads {@code key} linearizably. */
    void get(String key, Callback callback);

    /** Sets {@code key} to {@code value} if it holds {@code expected} ({@code null} = absent). */
    void cas(String key, String expected, String value, Callback callback);

    /** @return the work done: sends, answers, retries and timeouts */
    int poll();

    /**
     * @return true once the client's session is closed in the cluster (expired): every later operation would fail
     *         at once, so the workload replaces the client (a new session) and says so
     */
    default boolean isSessionClosed()
    {
        return false;
    }

    @Override
    void close();
}
