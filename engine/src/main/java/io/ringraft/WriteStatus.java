package io.ringraft;

/**
 * The outcome of a client write. Every accepted write gets exactly one outcome; none of the
 * failures loses a write that was already accepted into a log (a write that may still commit
 * reports {@link #TIMED_OUT}, never a definite failure).
 */
public final class WriteStatus
{
    /** Committed and applied; the response is the state machine's. */
    public static final int OK = 0;
    /** This node is not the leader; the leader's id is given when known. Not written. */
    public static final int NOT_LEADER = 1;
    /**
     * The node cannot take more now: its ingress ring is full (returned at once), or, as leader,
     * it holds {@code RaftConfig.maxUncommittedEntries} or {@code maxUncommittedBytes} uncommitted
     * (answered through the handler). Retry later. Not written.
     */
    public static final int BACK_PRESSURED = 2;
    /** The payload exceeds {@code RaftConfig.maxPayloadLength}. Not written. */
    public static final int PAYLOAD_TOO_LARGE = 3;
    /** The node is shut down. The write may have been appended before; if so its fate is unknown to this node. */
    public static final int SHUT_DOWN = 4;
    /** No outcome within {@code RaftConfig.clientTimeoutNanos}: the write may or may not commit. */
    public static final int TIMED_OUT = 5;
    /** The entry was replaced by a new leader's log: definitely not committed. */
    public static final int ABORTED = 6;
    /** The leader is handing over leadership and accepts no writes. Not written. */
    public static final int TRANSFERRING = 7;
    /**
     * The node failed and stopped (a storage error, a state machine that threw, a broken
     * invariant): {@code Raft.failure()} holds the cause. A write answered so may have been
     * appended before, and then its fate is unknown to this node, as for {@link #SHUT_DOWN}; a write
     * refused so at submission was not written. Ask another node.
     */
    public static final int FATAL = 8;
    /**
     * A local (non-linearizable) read refused: the node restarted and its state machine has not yet
     * applied the commit index it had seen before it stopped, so its state may lack writes it had
     * already seen committed. Retry later or read elsewhere.
     */
    public static final int NOT_READY = 9;

    private WriteStatus()
    {
    }

    /**
     * @param status a status code
     * @return its name
     */
    public static String name(final int status)
    {
        switch (status)
        {
            case OK: return "OK";
            case NOT_LEADER: return "NOT_LEADER";
            case BACK_PRESSURED: return "BACK_PRESSURED";
            case PAYLOAD_TOO_LARGE: return "PAYLOAD_TOO_LARGE";
            case SHUT_DOWN: return "SHUT_DOWN";
            case TIMED_OUT: return "TIMED_OUT";
            case ABORTED: return "ABORTED";
            case TRANSFERRING: return "TRANSFERRING";
            case FATAL: return "FATAL";
            case NOT_READY: return "NOT_READY";
            default: return "UNKNOWN(" + status + ")";
        }
    }
}
