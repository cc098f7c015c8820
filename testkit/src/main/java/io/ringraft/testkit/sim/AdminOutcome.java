package io.ringraft.testkit.sim;

import io.ringraft.AdminStatus;

/**
 * The outcome of an administration request (leader transfer, membership change) as a node's
 * engine reported it.
 *
 * @param nodeId    the node that ran the request
 * @param requestId the request's id, as returned when it was made
 * @param status    an {@link AdminStatus} code
 * @param index     the log index of the committed membership entry, or 0
 * @param leaderId  the known leader, for {@link AdminStatus#NOT_LEADER}
 * @param message   what happened, for failures; may be null
 */
public record AdminOutcome(long nodeId, long requestId, int status, long index, long leaderId, String message)
{
    /** @return true if the request succeeded */
    public boolean ok()
    {
        return status == AdminStatus.OK;
    }

    @Override
    public String toString()
    {
        return "N" + nodeId + " request " + requestId + " " + AdminStatus.name(status) + " index=" + index + " leader=" + leaderId +
            (message == null ? "" : " " + message);
    }
}
