package io.ringraft;

/**
 * The outcome of a cluster administration call.
 *
 * @param status   an {@link AdminStatus} code
 * @param index    the log index of the committed membership entry, or 0
 * @param leaderId the leader to ask for {@link AdminStatus#NOT_LEADER}; the new leader after a transfer
 * @param message  what happened, or null on plain success
 */
public record AdminResult(int status, long index, long leaderId, String message)
{
    /** @return true if the request succeeded */
    public boolean isOk()
    {
        return status == AdminStatus.OK;
    }

    @Override
    public String toString()
    {
        return "AdminResult{" + AdminStatus.name(status) + (index > 0 ? " index=" + index : "") +
            (leaderId != Vote.NO_NODE ? " leader=" + leaderId : "") + (message != null ? " " + message : "") + "}";
    }
}
