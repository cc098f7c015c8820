package io.ringraft.server.kv;

import java.nio.charset.StandardCharsets;

/**
 * The final answer to one {@link KvClient} request.
 *
 * @param status      a {@link KvProtocol} status: {@link KvProtocol#OK}, {@link KvProtocol#NOT_FOUND},
 *                    {@link KvProtocol#CAS_FAILED}, {@link KvProtocol#UNKNOWN_OUTCOME},
 *                    {@link KvProtocol#BAD_REQUEST} or {@link KvProtocol#NO_ANSWER} (the client
 *                    follows redirects and retries the others itself)
 * @param index       the log index of a write, or the applied index a read saw; 0 if none
 * @param value       the value read, or the current value after a failed CAS; null when absent
 * @param text        a message (why a request failed), or ""
 * @param endpoint    the client endpoint of the node that answered (or last tried)
 * @param submittedNs {@link System#nanoTime()} when the request was submitted
 * @param completedNs {@link System#nanoTime()} when the answer arrived
 */
public record KvResponse(int status, long index, byte[] value, String text, String endpoint, long submittedNs,
    long completedNs)
{
    /** @return true for {@link KvProtocol#OK} */
    public boolean isOk()
    {
        return status == KvProtocol.OK;
    }

    /** @return the value as UTF-8 text, or null when absent */
    public String valueText()
    {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** @return the round trip in nanoseconds */
    public long latencyNs()
    {
        return completedNs - submittedNs;
    }

    @Override
    public String toString()
    {
        return KvProtocol.statusName(status) + (index != 0 ? " index=" + index : "") + (value != null ? " value=" + valueText() : "") +
            (text.isEmpty() ? "" : " (" + text + ")") + " from " + endpoint;
    }
}
