package io.ringraft.client;

/**
 * The final outcome of a command, as {@link RingraftClient} reports it (an int, so the
 * zero-allocation path allocates nothing). Redirects, elections, back-pressure and lost leaders
 * are not outcomes: the client resends the command (with the same sequence, so it is applied at
 * most once) until one of these is reached or the command's timeout ends.
 */
public final class Outcome
{
    /** Applied; the response is the service's (also for a retry answered from the cache, see the duplicate flag). */
    public static final int OK = 0;
    /** Applied, but its response is no longer held by the cluster (the session's cache is bounded). */
    public static final int APPLIED_RESPONSE_EVICTED = 1;
    /** No final answer within the command's timeout: it may or may not have been applied. */
    public static final int TIMED_OUT = 2;
    /** Refused by the cluster (malformed, too large, another cluster): definitely not applied. */
    public static final int REJECTED = 3;
    /** The session is closed (expired in cluster time or closed): not applied; connect again. */
    public static final int SESSION_CLOSED = 4;
    /** The client was closed before an answer came: it may or may not have been applied. */
    public static final int CLIENT_CLOSED = 5;

    private Outcome()
    {
    }

    /**
     * @param outcome an outcome code
     * @return its name
     */
    public static String name(final int outcome)
    {
        switch (outcome)
        {
            case OK: return "OK";
            case APPLIED_RESPONSE_EVICTED: return "APPLIED_RESPONSE_EVICTED";
            case TIMED_OUT: return "TIMED_OUT";
            case REJECTED: return "REJECTED";
            case SESSION_CLOSED: return "SESSION_CLOSED";
            case CLIENT_CLOSED: return "CLIENT_CLOSED";
            default: return "OUTCOME(" + outcome + ")";
        }
    }

    /**
     * @param outcome an outcome code
     * @return true if the command was certainly applied ({@link #OK}, {@link #APPLIED_RESPONSE_EVICTED})
     */
    public static boolean applied(final int outcome)
    {
        return outcome == OK || outcome == APPLIED_RESPONSE_EVICTED;
    }

    /**
     * @param outcome an outcome code
     * @return true if the command may or may not have been applied ({@link #TIMED_OUT}, {@link #CLIENT_CLOSED})
     */
    public static boolean unknown(final int outcome)
    {
        return outcome == TIMED_OUT || outcome == CLIENT_CLOSED;
    }
}
