package io.ringraft.nemesis;

import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link NemesisClient} over the example service's {@link KvClient}: OK, NOT_FOUND and CAS_FAILED
 * are answers; REDIRECT, NO_LEADER, BUSY, ABORTED and BAD_REQUEST mean nothing was written; a write
 * with UNKNOWN_OUTCOME or no answer within the timeout is unknown, a read without an answer failed
 * (a read changes nothing, so it constrains nothing either way).
 */
final class KvNemesisClient implements NemesisClient
{
    private final KvClient client;

    /**
     * @param endpoints      every node's client endpoint
     * @param clusterId      the cluster id
     * @param timeoutMs      how long a request may take
     * @param aeronDirectory a running media driver to use
     */
    KvNemesisClient(final List<String> endpoints, final int clusterId, final long timeoutMs, final String aeronDirectory)
    {
        client = new KvClient(new KvClient.Context().endpoints(endpoints).clusterId(clusterId).timeout(timeoutMs, TimeUnit.MILLISECONDS)
            .aeronDirectory(aeronDirectory));
    }

    @Override
    public void put(final String key, final String value, final Callback callback)
    {
        client.submit(KvProtocol.PUT, key, bytes(value), null, false, (id, r) -> callback.onResult(write(r, null)));
    }

    @Override
    public void get(final String key, final Callback callback)
    {
        client.submit(KvProtocol.GET, key, null, null, true, (id, r) -> callback.onResult(read(r)));
    }

    @Override
    public void cas(final String key, final String expected, final String value, final Callback callback)
    {
        client.submit(KvProtocol.CAS, key, bytes(value), expected == null ? null : bytes(expected), false, (id, r) ->
            callback.onResult(write(r, r.status() == KvProtocol.OK ? "true" : "false")));
    }

    @Override
    public int poll()
    {
        return client.poll();
    }

    @Override
    public boolean isSessionClosed()
    {
        return client.client().isSessionClosed();
    }

    @Override
    public void close()
    {
        client.close();
    }

    /** @return the status name, and the client's text when it says more (e.g. "ABORTED session closed") */
    private static String detail(final KvResponse r)
    {
        return KvProtocol.statusName(r.status()) + (r.text() == null || r.text().isEmpty() ? "" : " " + r.text());
    }

    static Result write(final KvResponse r, final String okValue)
    {
        switch (r.status())
        {
            case KvProtocol.OK:
            case KvProtocol.NOT_FOUND:
                return new Result(Outcome.OK, okValue, "OK");
            case KvProtocol.CAS_FAILED:
                return new Result(Outcome.OK, okValue, "CAS_FAILED");
            case KvProtocol.UNKNOWN_OUTCOME:
            case KvProtocol.NO_ANSWER:
                return new Result(Outcome.UNKNOWN, null, detail(r));
            default:
                return new Result(Outcome.FAIL, null, detail(r));
        }
    }

    static Result read(final KvResponse r)
    {
        switch (r.status())
        {
            case KvProtocol.OK:
                return new Result(Outcome.OK, r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8), "OK");
            case KvProtocol.NOT_FOUND:
                return new Result(Outcome.OK, null, "NOT_FOUND");
            default:
                return new Result(Outcome.FAIL, null, detail(r));
        }
    }

    private static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
