package io.ringraft.server;

import io.ringraft.client.ClientException;
import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code ringraft kv put KEY VALUE | get KEY [--linearizable] | delete KEY | cas KEY EXPECTED NEW}
 * against any member ({@code --config FILE} or {@code --endpoint host:port}, repeatable). Writes
 * follow redirects to the leader. Output: a GET prints the value alone; the others print the
 * outcome and the log index. Exit status 0 on success, 1 when the key is absent, a CAS is
 * refused, or no node answers within {@code --timeout} (default 3 s), 2 on bad usage.
 * In a CAS, EXPECTED {@code -} means "absent".
 */
final class KvCli
{
    private KvCli()
    {
    }

    static int run(final String[] args)
    {
        final Args a = Args.parse("kv", args, Set.of("config", "endpoint", "timeout", "cluster-id", Args.CLIENT_ID, Args.CLIENT_KEY),
            Set.of("linearizable"));
        final List<String> p = a.positional();
        if (p.isEmpty())
        {
            throw new CliException("ringraft kv: expected put KEY VALUE | get KEY | delete KEY | cas KEY EXPECTED NEW");
        }
        final String op = p.get(0);
        final byte code;
        switch (op)
        {
            case "put":
                a.requirePositional(3, 3, "put KEY VALUE");
                code = KvProtocol.PUT;
                break;
            case "get":
                a.requirePositional(2, 2, "get KEY");
                code = KvProtocol.GET;
                break;
            case "delete":
                a.requirePositional(2, 2, "delete KEY");
                code = KvProtocol.DELETE;
                break;
            case "cas":
                a.requirePositional(4, 4, "cas KEY EXPECTED NEW");
                code = KvProtocol.CAS;
                break;
            default:
                throw new CliException("ringraft kv: unknown operation '" + op + "' (put, get, delete, cas)");
        }
        if (a.has("linearizable") && code != KvProtocol.GET)
        {
            throw new CliException("ringraft kv: --linearizable applies to get only");
        }
        final List<String> endpoints = new ArrayList<>();
        int clusterId = (int)a.longValue("cluster-id", 0, 0, Integer.MAX_VALUE);
        for (final String file : a.all("config"))
        {
            final NodeConfig config = NodeConfig.loadForClient(Path.of(file));
            endpoints.add(config.self().clientEndpoint());
            config.clientEndpoints().values().stream().filter(e -> !endpoints.contains(e)).forEach(endpoints::add);
            clusterId = clusterId == 0 ? config.clusterId() : clusterId;
        }
        for (final String endpoint : a.all("endpoint"))
        {
            NodeConfig.address(endpoint, "--endpoint");
            endpoints.add(endpoint);
        }
        if (endpoints.isEmpty())
        {
            throw new CliException("ringraft kv: give --config FILE or --endpoint host:port of a member");
        }
        final long timeoutMs = a.durationMs("timeout", 3_000);
        final String key = p.get(1);
        final byte[] value = code == KvProtocol.PUT ? utf8(p.get(2)) : code == KvProtocol.CAS ? utf8(p.get(3)) : null;
        final byte[] expected = code == KvProtocol.CAS && !"-".equals(p.get(2)) ? utf8(p.get(2)) : null;
        final KvResponse r;
        final Path clientKey = a.clientKey();
        try (KvClient client = new KvClient(new KvClient.Context().endpoints(endpoints).clusterId(clusterId)
            .timeout(timeoutMs, TimeUnit.MILLISECONDS).connectTimeout(timeoutMs, TimeUnit.MILLISECONDS)
            .credentials(a.clientId(), clientKey)))
        {
            r = client.call(code, key, value, expected, a.has("linearizable"));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException("ringraft kv: " + ex.getMessage());
        }
        catch (final ClientException ex)
        {
            throw new CliException(CliException.FAILED, "ringraft kv: " + ex.getMessage());
        }
        switch (r.status())
        {
            case KvProtocol.OK:
                System.out.println(code == KvProtocol.GET ? r.valueText() : "OK index=" + r.index());
                return 0;
            case KvProtocol.NOT_FOUND:
                System.err.println("ringraft kv: " + key + " not found" + (code == KvProtocol.DELETE ? " (index=" + r.index() + ")" : ""));
                return 1;
            case KvProtocol.CAS_FAILED:
                System.err.println("ringraft kv: cas refused, " + key + " is " + (r.value() == null ? "absent" : "'" + r.valueText() + "'") +
                    " (index=" + r.index() + ")");
                return 1;
            case KvProtocol.NO_ANSWER:
                System.err.println("ringraft kv: " + r.text() + (KvProtocol.isWrite(code) ? "; the write may or may not have happened" : ""));
                return 1;
            default:
                System.err.println("ringraft kv: " + KvProtocol.statusName(r.status()) + (r.text().isEmpty() ? "" : ": " + r.text()) +
                    " from " + r.endpoint());
                return 1;
        }
    }

    private static byte[] utf8(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
