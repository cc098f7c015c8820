package io.ringraft;

/**
 * A call that a node could not carry out, with the {@link WriteStatus} code that says why and the
 * leader to ask instead when known.
 */
public class RaftException extends RuntimeException
{
    private final int status;
    private final long leaderId;

    /**
     * @param status   a {@link WriteStatus} code
     * @param leaderId the known leader, or {@link Vote#NO_NODE}
     * @param message  what happened
     */
    public RaftException(final int status, final long leaderId, final String message)
    {
        super(message);
        this.status = status;
        this.leaderId = leaderId;
    }

    /**
     * @param status   a {@link WriteStatus} code, {@link WriteStatus#FATAL} for a node that failed
     * @param leaderId the known leader, or {@link Vote#NO_NODE}
     * @param message  what happened
     * @param cause    why, e.g. the failure that stopped the node
     */
    public RaftException(final int status, final long leaderId, final String message, final Throwable cause)
    {
        super(message, cause);
        this.status = status;
        this.leaderId = leaderId;
    }

    /** @return the {@link WriteStatus} code */
    public int status()
    {
        return status;
    }

    /** @return the known leader, or {@link Vote#NO_NODE} */
    public long leaderId()
    {
        return leaderId;
    }
}
