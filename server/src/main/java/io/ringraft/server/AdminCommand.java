package io.ringraft.server;

import io.ringraft.client.AdminOutcome;
import io.ringraft.client.AdminProtocol;
import io.ringraft.client.ClientException;
import io.ringraft.client.RingraftClient;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * {@code ringraft admin OPERATION (--config FILE | --endpoint HOST:PORT)... [--timeout 10s] [--wait]}:
 * changes or shows the membership of a running cluster through any member (redirected to the
 * leader). Operations: {@code status}, {@code add-learner ID RAFT_ENDPOINT CLIENT_ENDPOINT},
 * {@code promote ID}, {@code voters ID,ID,...}, {@code remove ID}, {@code transfer ID},
 * {@code snapshot}. Exit status 0 when done (one line: the outcome), 1 when refused or timed out
 * (one line: the reason; nothing changed unless it says so), 2 on bad usage. The operations are
 * the client library's ({@link RingraftClient#addLearner} and the others), without a session.
 */
final class AdminCommand
{
    static final String USAGE = "status | add-learner ID RAFT_ENDPOINT CLIENT_ENDPOINT | promote ID | voters ID,ID,... | remove ID | " +
        "transfer ID | snapshot";

    private AdminCommand()
    {
    }

    static int run(final String[] args)
    {
        final Args a = Args.parse("admin", args, Set.of("config", "endpoint", "timeout", "cluster-id", "aeron-dir", Args.CLIENT_ID,
            Args.CLIENT_KEY), Set.of("wait"));
        final List<String> p = a.positional();
        if (p.isEmpty())
        {
            throw new CliException("ringraft admin: expected " + USAGE);
        }
        final String op = p.get(0);
        switch (op)
        {
            case "status":
            case "snapshot":
                a.requirePositional(1, 1, op);
                break;
            case "add-learner":
                a.requirePositional(4, 4, "add-learner ID RAFT_ENDPOINT CLIENT_ENDPOINT");
                NodeConfig.address(p.get(2), "RAFT_ENDPOINT");
                NodeConfig.address(p.get(3), "CLIENT_ENDPOINT");
                break;
            case "promote":
            case "remove":
            case "transfer":
            case "voters":
                a.requirePositional(2, 2, op + (op.equals("voters") ? " ID,ID,..." : " ID"));
                break;
            default:
                throw new CliException("ringraft admin: unknown operation '" + op + "' (" + USAGE + ")");
        }
        if (a.has("wait") && !op.equals("promote") && !op.equals("voters"))
        {
            throw new CliException("ringraft admin: --wait applies to promote and voters only");
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
            throw new CliException("ringraft admin: give --config FILE or --endpoint host:port of a member");
        }
        final Duration timeout = Duration.ofMillis(a.durationMs("timeout", 10_000));
        final boolean wait = a.has("wait");
        final AdminOutcome r;
        final Path clientKey = a.clientKey();
        try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(clusterId)
            .aeronDirectory(a.get("aeron-dir", null)).session(false).credentials(a.clientId(), clientKey)))
        {
            switch (op)
            {
                case "status":
                    r = client.clusterStatus(timeout);
                    break;
                case "snapshot":
                    r = client.snapshot(timeout);
                    break;
                case "add-learner":
                    r = client.addLearner(id(p.get(1)), p.get(2), p.get(3), timeout);
                    break;
                case "promote":
                    r = client.promote(id(p.get(1)), wait, timeout);
                    break;
                case "remove":
                    r = client.remove(id(p.get(1)), timeout);
                    break;
                case "transfer":
                    r = client.transferLeadership(id(p.get(1)), timeout);
                    break;
                default:
                    r = client.changeVoters(Arrays.stream(p.get(1).split(",")).mapToLong(AdminCommand::id).toArray(), wait, timeout);
                    break;
            }
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException("ringraft admin: " + ex.getMessage());
        }
        catch (final ClientException ex)
        {
            System.err.println("ringraft admin: " + op + " failed: " + ex.getMessage());
            return 1;
        }
        if (r.isOk())
        {
            System.out.println("OK " + op + (r.index() > 0 ? " index=" + r.index() : "") + ": " + r.message());
            return 0;
        }
        System.err.println("ringraft admin: " + op + " " + (r.status() == AdminProtocol.NO_ANSWER ? "timed out" : "refused") + " (" +
            r.statusName() + "): " + r.message());
        return 1;
    }

    private static long id(final String value)
    {
        try
        {
            final long id = Long.parseLong(value.trim());
            if (id > 0)
            {
                return id;
            }
        }
        catch (final NumberFormatException ex)
        {
            // reported below
        }
        throw new CliException("ringraft admin: node id '" + value + "' must be a number > 0");
    }
}
