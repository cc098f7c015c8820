package io.ringraft.client;

/**
 * A command's outcome for the {@link java.util.concurrent.CompletableFuture} API.
 *
 * @param sequence  the command's sequence in the session
 * @param outcome   an {@link Outcome} code
 * @param duplicate true if answered from the cluster's cache (applied by an earlier send)
 * @param index     its log index, or 0
 * @param response  the service's response for {@link Outcome#OK}; for {@link Outcome#REJECTED} the reason (UTF-8)
 */
public record CommandResult(long sequence, int outcome, boolean duplicate, long index, byte[] response)
{
    /** @return true if the command was applied and this is its response */
    public boolean isOk()
    {
        return outcome == Outcome.OK;
    }

    @Override
    public String toString()
    {
        return "CommandResult[seq=" + sequence + ", " + Outcome.name(outcome) + (duplicate ? ", duplicate" : "") + ", index=" + index +
            ", " + response.length + " bytes]";
    }
}
