package io.ringraft;

/**
 * The outcome of a {@link Raft#clientWrite(byte[])}.
 *
 * @param status   a {@link WriteStatus} code
 * @param index    the log index, or 0 if the write never got one
 * @param leaderId the known leader for {@link WriteStatus#NOT_LEADER}, else {@link Vote#NO_NODE}
 * @param response the state machine's response for {@link WriteStatus#OK}, else empty
 */
public record WriteResult(int status, long index, long leaderId, byte[] response)
{
    /** @return true if the write committed and was applied */
    public boolean isOk()
    {
        return status == WriteStatus.OK;
    }

    @Override
    public String toString()
    {
        return "WriteResult{" + WriteStatus.name(status) + " index=" + index + (leaderId != Vote.NO_NODE ? " leader=" + leaderId : "") +
            " response=" + response.length + "B}";
    }
}
