package io.ringraft.client;

/**
 * A query's answer.
 *
 * @param status       a {@link ClientProtocol} status: {@link ClientProtocol#OK}, or why not
 *                     ({@link ClientProtocol#BAD_REQUEST}, {@link ClientProtocol#NOT_READY} for a local
 *                     query at a restarted node still catching up, or {@link ClientProtocol#NO_LEADER}
 *                     when the timeout ended without a leader answering)
 * @param appliedIndex the applied index of the state the answer was read from
 * @param response     the service's answer
 * @param message      why not, for failures
 */
public record QueryResult(int status, long appliedIndex, byte[] response, String message)
{
    /** @return true if the service answered */
    public boolean isOk()
    {
        return status == ClientProtocol.OK;
    }
}
