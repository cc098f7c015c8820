package io.ringraft;

/** The outcome of a cluster administration call: a membership change, adding a learner, a leader transfer. */
public final class AdminStatus
{
    /** Done: the change is committed, or leadership was handed over. */
    public static final int OK = 0;
    /** This node is not the leader; ask the leader named in the result. */
    public static final int NOT_LEADER = 1;
    /** Another membership change or transfer is in flight; at most one at a time. */
    public static final int IN_PROGRESS = 2;
    /** The request makes no sense for this cluster (the message says why). Nothing changed. */
    public static final int INVALID = 3;
    /**
     * Not done in time. Before a membership entry was appended, nothing changed; after, the
     * change may still complete (the message says which).
     */
    public static final int TIMED_OUT = 4;
    /** This node lost leadership while the request was in flight; it may or may not complete. */
    public static final int LEADER_CHANGED = 5;
    /** The node shut down. */
    public static final int SHUT_DOWN = 6;
    /** The node failed and stopped ({@code Raft.failure()} holds the cause); the change may or may not complete. */
    public static final int FATAL = 7;

    private AdminStatus()
    {
    }

    /** @return the name of a status code */
    public static String name(final int status)
    {
        switch (status)
        {
            case OK: return "OK";
            case NOT_LEADER: return "NOT_LEADER";
            case IN_PROGRESS: return "IN_PROGRESS";
            case INVALID: return "INVALID";
            case TIMED_OUT: return "TIMED_OUT";
            case LEADER_CHANGED: return "LEADER_CHANGED";
            case SHUT_DOWN: return "SHUT_DOWN";
            case FATAL: return "FATAL";
            default: return "UNKNOWN(" + status + ")";
        }
    }
}
