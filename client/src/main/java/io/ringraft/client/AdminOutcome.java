package io.ringraft.client;

import io.ringraft.AdminStatus;

/**
 * The outcome of an admin operation of {@link RingraftClient}: a membership change, a leader
 * transfer, a snapshot or a status.
 *
 * @param status   {@link AdminStatus#OK}; or why not: an {@link AdminStatus} code ({@link AdminStatus#INVALID},
 *                 {@link AdminStatus#IN_PROGRESS}, {@link AdminStatus#TIMED_OUT} ...), {@link AdminProtocol#NOT_CAUGHT_UP},
 *                 {@link AdminProtocol#BAD_REQUEST}, or {@link AdminProtocol#NO_ANSWER} when no member answered in time
 * @param nodeId   the member that answered, or 0 if none did
 * @param leaderId the leader that member knows, or -1 (0 if none answered)
 * @param index    the log index of the change, or the index the snapshot covers; 0 if none
 * @param message  what was done, or why not (one line for an operator)
 * @param view     for a status: the answering member's view; else null
 */
public record AdminOutcome(int status, long nodeId, long leaderId, long index, String message, MemberStatus view)
{
    /** @return true if the operation was done */
    public boolean isOk()
    {
        return status == AdminStatus.OK;
    }

    /**
     * @return true if the outcome is not known: no answer came ({@link AdminProtocol#NO_ANSWER}), or the
     *         leader gave up waiting ({@link AdminStatus#TIMED_OUT}, {@link AdminStatus#LEADER_CHANGED},
     *         {@link AdminStatus#FATAL}): the change may still complete (the message says whether it was
     *         appended); read the membership to know
     */
    public boolean isUnknown()
    {
        return status == AdminProtocol.NO_ANSWER || status == AdminStatus.TIMED_OUT || status == AdminStatus.LEADER_CHANGED ||
            status == AdminStatus.FATAL;
    }

    /** @return the name of {@link #status()} */
    public String statusName()
    {
        return AdminProtocol.statusName(status);
    }

    static AdminOutcome of(final AdminProtocol.Response r)
    {
        return new AdminOutcome(r.status(), r.nodeId(), r.leaderId(), r.index(), r.message(), r.view());
    }

    static AdminOutcome refused(final int status, final String message)
    {
        return new AdminOutcome(status, 0, 0, 0, message, null);
    }

    @Override
    public String toString()
    {
        return statusName() + (index > 0 ? " index " + index : "") + (nodeId > 0 ? " from node " + nodeId : "") + ": " + message;
    }
}
