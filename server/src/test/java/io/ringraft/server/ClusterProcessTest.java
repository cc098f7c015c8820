package io.ringraft.server;

import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;
import io.ringraft.storage.DurabilityPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * End to end against a real three-process cluster: each node a child JVM started from its config
 * file as {@code java <flags> -cp <class path> io.ringraft.server.RingraftMain node --config FILE}.
 */
class ClusterProcessTest
{
    private static final int CLUSTER_ID = 77;

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopChildren()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    @Test
    void writesThroughAFollowerReadsStatusStopsCleanlyAndRestartsOnItsData() throws Exception
    {
        cluster = new LocalCluster(3, CLUSTER_ID, dir, DurabilityPolicy.BATCH, true, Map.of(), false);
        cluster.startAll();
        // The node processes run with the heap and collector the launcher gives `ringraft node` (one place: the parent pom).
        final List<String> heapFlags = LocalCluster.nodeHeapFlags();
        assertTrue(heapFlags.stream().anyMatch(f -> f.startsWith("-Xmx")), "node heap flags: " + heapFlags);
        for (long id = 1; id <= 3; id++)
        {
            final String cmdline = Files.readString(Path.of("/proc", Long.toString(cluster.childProcess(id).pid()), "cmdline"));
            final List<String> arguments = List.of(cmdline.split("\0"));
            assertTrue(arguments.containsAll(heapFlags), "node " + id + " runs with " + arguments);
        }
        final String allNodes = cluster.configFile(1).toString();
        final Map<Long, Map<String, String>> status = awaitLeader(allNodes);
        final long leader = leaderOf(status);
        final long follower = leader == 1 ? 2 : 1;
        final String leaderEndpoint = cluster.clientEndpoints().get(leader);
        final String followerEndpoint = cluster.clientEndpoints().get(follower);

        // A put through a follower is redirected to the leader.
        final Cli.Result put = Cli.run("kv", "put", "greeting", "hello", "--endpoint", followerEndpoint);
        assertEquals(0, put.status(), put.toString());
        assertTrue(put.out().startsWith("OK index="), put.toString());
        final long putIndex = Long.parseLong(put.out().trim().substring("OK index=".length()));
        try (KvClient client = new KvClient(new KvClient.Context().endpoint(followerEndpoint).clusterId(CLUSTER_ID)))
        {
            final KvResponse r = client.call(KvProtocol.PUT, "via-follower", "1".getBytes(StandardCharsets.UTF_8), null, false);
            assertEquals(KvProtocol.OK, r.status(), r.toString());
            assertEquals(leaderEndpoint, r.endpoint(), "redirected from the follower and answered by the leader: " + r);
            final KvResponse cas = client.call(KvProtocol.CAS, "via-follower", "2".getBytes(StandardCharsets.UTF_8),
                "1".getBytes(StandardCharsets.UTF_8), false);
            assertEquals(KvProtocol.OK, cas.status(), cas.toString());
        }

        // Reads: local on the leader, linearizable on a follower (follower read), through a config file.
        assertOutput(Cli.run("kv", "get", "greeting", "--endpoint", leaderEndpoint), "hello");
        assertOutput(Cli.run("kv", "get", "greeting", "--linearizable", "--endpoint", followerEndpoint), "hello");
        assertOutput(Cli.run("kv", "get", "via-follower", "--linearizable", "--config", cluster.configFile(follower).toString()), "2");
        final Cli.Result missing = Cli.run("kv", "get", "nothing-here", "--linearizable", "--endpoint", followerEndpoint);
        assertEquals(1, missing.status(), missing.toString());
        assertOutput(Cli.run("kv", "cas", "greeting", "hello", "bye", "--endpoint", leaderEndpoint), null);
        assertOutput(Cli.run("kv", "delete", "via-follower", "--endpoint", followerEndpoint), null);
        assertEquals(1, Cli.run("kv", "get", "via-follower", "--linearizable", "--endpoint", leaderEndpoint).status());

        // Status, read from the counters files by another process (this one).
        final Map<Long, Map<String, String>> after = awaitStatus(allNodes,
            s -> s.values().stream().allMatch(n -> Long.parseLong(n.get("applied")) >= putIndex + 4));
        assertEquals(3, after.size());
        assertEquals(leader, leaderOf(after));
        for (final Map<String, String> node : after.values())
        {
            assertTrue(node.get("state").startsWith("running"), node.toString());
            assertEquals(Long.toString(leader), node.get("leader"), node.toString());
            assertEquals(after.get(leader).get("term"), node.get("term"), node.toString());
            assertEquals("0", node.get("errors"), node.toString());
        }
        assertTrue(after.get(leader).containsKey("lag." + follower), "the leader shows each follower's lag: " + after.get(leader));
        assertFalse(after.get(follower).containsKey("lag." + leader), "followers show no lag");

        // SIGTERM: each node stops cleanly, removes its pid file and its media driver's directory.
        for (final long id : cluster.ids())
        {
            final Path data = cluster.config(id).dataDir();
            final RingraftNode.PidFile pid = RingraftNode.readPidFile(data);
            assertNotNull(pid, "node " + id + " runs");
            assertTrue(new File(pid.aeronDir()).isDirectory(), pid.aeronDir());
            assertEquals(0, cluster.stop(id), "node " + id + " exits 0 on SIGTERM:\n" + cluster.output(id));
            assertTrue(cluster.output(id).contains("ringraft node " + id + ": stopped"), cluster.output(id));
            assertFalse(Files.exists(data.resolve(RingraftNode.PID_FILE)), "pid file removed");
            assertFalse(new File(pid.aeronDir()).exists(), "driver directory deleted: " + pid.aeronDir());
        }
        final Cli.Result stopped = Cli.run("status", "--config", allNodes);
        assertEquals(0, stopped.status(), stopped.toString());
        assertTrue(parse(stopped.out()).values().stream().allMatch(n -> n.get("state").equals("stopped")), stopped.toString());

        // Restart on the same data directories: the data is there.
        cluster.startAll();
        awaitLeader(allNodes);
        assertOutput(Cli.run("kv", "get", "greeting", "--linearizable", "--config", allNodes), "bye");
        assertEquals(1, Cli.run("kv", "get", "via-follower", "--linearizable", "--config", allNodes).status());
    }

    private static void assertOutput(final Cli.Result r, final String expected)
    {
        assertEquals(0, r.status(), r.toString());
        if (expected != null)
        {
            assertEquals(expected, r.out().trim(), r.toString());
        }
    }

    private static long leaderOf(final Map<Long, Map<String, String>> status)
    {
        final List<Long> leaders = new ArrayList<>();
        status.forEach((id, s) ->
        {
            if (s.get("role").equals("LEADER"))
            {
                leaders.add(id);
            }
        });
        assertEquals(1, leaders.size(), "one leader: " + status);
        assertNotEquals(0L, leaders.get(0));
        return leaders.get(0);
    }

    private Map<Long, Map<String, String>> awaitLeader(final String config) throws InterruptedException
    {
        return awaitStatus(config, s -> s.size() == 3 && s.values().stream().filter(n -> n.get("role").equals("LEADER")).count() == 1 &&
            s.values().stream().allMatch(n -> !n.get("leader").equals("0") && n.get("state").startsWith("running")));
    }

    private static Map<Long, Map<String, String>> awaitStatus(final String config,
        final java.util.function.Predicate<Map<Long, Map<String, String>>> condition) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Cli.Result last = null;
        while (System.nanoTime() < deadline)
        {
            last = Cli.run("status", "--config", config);
            if (last.status() == 0)
            {
                final Map<Long, Map<String, String>> parsed = parse(last.out());
                if (condition.test(parsed))
                {
                    return parsed;
                }
            }
            Thread.sleep(200);
        }
        fail("status never satisfied the condition; last: " + last);
        return null;
    }

    /** Parses status lines: node=1 state=running pid=9 role=LEADER ... lag.2=0. */
    static Map<Long, Map<String, String>> parse(final String out)
    {
        final Map<Long, Map<String, String>> result = new HashMap<>();
        for (final String line : out.split("\\R"))
        {
            if (line.isBlank())
            {
                continue;
            }
            final Map<String, String> fields = new HashMap<>();
            for (final String token : line.trim().split("\\s+"))
            {
                final int eq = token.indexOf('=');
                if (eq > 0)
                {
                    fields.put(token.substring(0, eq), token.substring(eq + 1));
                }
            }
            result.put(Long.parseLong(fields.get("node")), fields);
        }
        return result;
    }
}
