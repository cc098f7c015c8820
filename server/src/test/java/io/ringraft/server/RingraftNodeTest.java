package io.ringraft.server;

import io.ringraft.AdminStatus;
import io.ringraft.client.AdminOutcome;
import io.ringraft.client.AdminProtocol;
import io.ringraft.client.RingraftClient;
import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;
import io.ringraft.server.kv.KvService;
import io.ringraft.client.ClientException;
import io.ringraft.service.IngressCounters;
import io.ringraft.ThreadingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One node in this JVM: restart from its snapshot and log, and the leftovers of a killed predecessor removed. */
class RingraftNodeTest
{
    @TempDir
    Path dir;

    @Test
    void restartsFromSnapshotAndLogAndRemovesAKilledPredecessorsDriverDirectory() throws Exception
    {
        final Path data = dir.resolve("node-1");
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(),
            "data.dir = " + data, "durability = NONE", "snapshot.every = 10", "election.timeout.ms = 100-200", "heartbeat.ms = 20"),
            "test", null, false);
        try (RingraftNode node = RingraftNode.start(config))
        {
            node.raft().waitFor(m -> m.isLeader(), Duration.ofSeconds(20));
            try (KvClient client = client(config))
            {
                for (int i = 0; i < 35; i++)
                {
                    final KvResponse r = client.call(KvProtocol.PUT, "k" + i, ("v" + i).getBytes(StandardCharsets.UTF_8), null, false);
                    assertEquals(KvProtocol.OK, r.status(), r.toString());
                }
            }
        }
        assertFalse(Files.exists(data.resolve(RingraftNode.PID_FILE)), "removed on close");
        try (Stream<Path> snapshots = Files.list(data.resolve(RingraftNode.SNAPSHOT_DIR)))
        {
            assertTrue(snapshots.anyMatch(p -> p.toString().endsWith(".snap")), "snapshots were taken");
        }

        // A predecessor killed with SIGKILL: its pid file names a process that is gone and its driver directory.
        final Process gone = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-version").start();
        gone.waitFor(30, TimeUnit.SECONDS);
        final File staleDriver = Files.createDirectories(dir.resolve("ringraft-aeron-1-" + gone.pid() + "-1")).toFile();
        Files.writeString(data.resolve(RingraftNode.PID_FILE), "pid=" + gone.pid() + "\naeron.dir=" + staleDriver + "\n");

        try (RingraftNode node = RingraftNode.start(config))
        {
            assertFalse(staleDriver.exists(), "the killed predecessor's driver directory is removed");
            node.raft().waitFor(m -> m.isLeader() && m.appliedIndex() >= 36, Duration.ofSeconds(20));
            try (KvClient client = client(config))
            {
                assertEquals("v0", client.call(KvProtocol.GET, "k0", null, null, true).valueText());
                assertEquals("v34", client.call(KvProtocol.GET, "k34", null, null, true).valueText());
            }
            assertEquals(35, ((KvService)node.service()).stateMachine().digest().size());
        }
    }

    @Test
    void aSyncDelayFileSlowsTheLogWhileTheNodeRuns() throws Exception
    {
        final Path delay = dir.resolve("sync-delay-ms");
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(),
            "data.dir = " + dir.resolve("slow"), "durability = BATCH", "election.timeout.ms = 100-200", "heartbeat.ms = 20",
            "storage.sync.delay.file = " + delay), "test", null, false);
        try (RingraftNode node = RingraftNode.start(config); KvClient client = client(config))
        {
            // A single node acknowledges a write once its log synced it: the sync's delay is in every write.
            final long fast = slowestPut(client, 5);
            Files.writeString(delay, "400");
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long slow = 0;
            while (slow < 400 && System.nanoTime() < deadline)
            {
                slow = slowestPut(client, 1);
            }
            assertTrue(slow >= 400, "a write waits for the slow sync once the file says 400 ms: " + slow + " ms (before: " + fast + " ms)");
            Files.writeString(delay, "0");
            final long deadlineBack = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long back = slow;
            while (back >= 400 && System.nanoTime() < deadlineBack)
            {
                back = slowestPut(client, 3);
            }
            assertTrue(back < 400, "fast again once the file says 0: " + back + " ms");
        }
    }

    /** @return the slowest of {@code n} puts, in milliseconds */
    private static long slowestPut(final KvClient client, final int n)
    {
        long slowest = 0;
        for (int i = 0; i < n; i++)
        {
            final long start = System.nanoTime();
            final KvResponse r = client.call(KvProtocol.PUT, "slow", ("v" + i).getBytes(StandardCharsets.UTF_8), null, false);
            assertEquals(KvProtocol.OK, r.status(), r.toString());
            slowest = Math.max(slowest, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        }
        return slowest;
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void servesInEveryThreadingMode(final ThreadingMode mode)
    {
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(),
            "data.dir = " + dir.resolve(mode.name()), "durability = NONE", "threading = " + mode, "election.timeout.ms = 100-200",
            "heartbeat.ms = 20"), "test", null, false);
        try (RingraftNode node = RingraftNode.start(config); KvClient client = client(config))
        {
            final KvResponse put = client.call(KvProtocol.PUT, "mode", mode.name().getBytes(StandardCharsets.UTF_8), null, false);
            assertEquals(KvProtocol.OK, put.status(), put.toString());
            assertEquals(mode.name(), client.call(KvProtocol.GET, "mode", null, null, true).valueText());
            final KvResponse cas = client.call(KvProtocol.CAS, "mode", "x".getBytes(StandardCharsets.UTF_8),
                "not-it".getBytes(StandardCharsets.UTF_8), false);
            assertEquals(KvProtocol.CAS_FAILED, cas.status(), cas.toString());
            assertEquals(mode.name(), cas.valueText());
        }
        try (RingraftNode node = RingraftNode.start(config))
        {
            // Frames naming another cluster are dropped and counted: a stranger never gets a session.
            final ClientException ex = assertThrows(ClientException.class, () -> new KvClient(new KvClient.Context()
                .endpoint(config.self().clientEndpoint()).clusterId(999).connectTimeout(1, TimeUnit.SECONDS)));
            assertTrue(ex.getMessage().startsWith("no leader opened a session within 1000 ms"), ex.getMessage());
            assertTrue(node.serviceNode().ingressCounters().get(IngressCounters.WRONG_CLUSTER) > 0,
                node.serviceNode().ingressCounters().toString());
        }
    }

    @Test
    void aNodeWhoseAdminServiceLosesItsAeronClientStopsAsAWhole() throws Exception
    {
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(),
            "data.dir = " + dir.resolve("admin-fails"), "durability = NONE", "election.timeout.ms = 100-200", "heartbeat.ms = 20"),
            "test", null, false);
        try (RingraftNode node = RingraftNode.start(config))
        {
            final io.ringraft.Raft raft = node.serviceNode().raft();
            final long leaderDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!raft.isLeader() && System.nanoTime() < leaderDeadline)
            {
                Thread.sleep(10);
            }
            assertTrue(raft.isLeader(), "a single member leads");
            // The admin service's Aeron client stops by itself (as on a driver timeout).
            node.admin().aeron().close();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (raft.failure() == null && System.nanoTime() < deadline)
            {
                Thread.sleep(5);
            }
            assertNotNull(raft.failure(), "the node failed stop");
            assertTrue(String.valueOf(raft.failure().getMessage()).contains("admin"), String.valueOf(raft.failure()));
            assertFalse(raft.isLeader(), "it stopped leading");
        }
    }

    @Test
    void valuesUpToTheLargestMessageAndClearRefusalsBeyond()
    {
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(),
            "data.dir = " + dir.resolve("large"), "durability = NONE", "election.timeout.ms = 100-200", "heartbeat.ms = 20"),
            "test", null, false);
        try (RingraftNode node = RingraftNode.start(config); KvClient client = client(config))
        {
            final byte[] large = new byte[31_000];
            large[30_999] = 42;
            assertEquals(KvProtocol.OK, client.call(KvProtocol.PUT, "large", large, null, false).status());
            assertEquals(42, client.call(KvProtocol.GET, "large", null, null, true).value()[30_999]);

            final KvResponse tooLargeForTheLog = client.call(KvProtocol.PUT, "larger", new byte[32_500], null, false);
            assertEquals(KvProtocol.BAD_REQUEST, tooLargeForTheLog.status(), tooLargeForTheLog.toString());
            assertEquals("command of 32525 bytes exceeds maxCommandLength=32472", tooLargeForTheLog.text());

            final KvResponse tooLargeToSend = client.call(KvProtocol.PUT, "largest", new byte[40_000], null, false);
            assertEquals(KvProtocol.BAD_REQUEST, tooLargeToSend.status(), tooLargeToSend.toString());
            assertTrue(tooLargeToSend.text().contains("exceeds the largest message of 32768 bytes"), tooLargeToSend.text());
        }
    }

    @Test
    void authenticatedNodeServesOnlyItsClientsAndOnlyAdminsChangeIt() throws Exception
    {
        final String key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        final String adminKey = "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";
        final Path clusterKey = Files.writeString(dir.resolve("cluster.key"), "key.1 = " + key + "\n");
        final Path clients = Files.writeString(dir.resolve("clients"),
            "client.5.key.1 = " + key + "\nclient.6.key.1 = " + adminKey + "\nclient.6.admin = true\n");
        final Path clientKey = Files.writeString(dir.resolve("client5.key"), "key.1 = " + key + "\n");
        final Path adminKeyFile = Files.writeString(dir.resolve("client6.key"), "key.1 = " + adminKey + "\n");
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(),
            "data.dir = " + dir.resolve("auth"), "durability = NONE", "election.timeout.ms = 100-200", "heartbeat.ms = 20",
            "auth.cluster.key.file = " + clusterKey, "auth.client.credentials.file = " + clients, "auth.client.required = true"),
            "test", null, false);
        try (RingraftNode node = RingraftNode.start(config))
        {
            assertTrue(Files.exists(dir.resolve("auth").resolve(io.ringraft.service.ServiceNode.AUTH_EPOCH_FILE)),
                "the cluster key is in use: the sender epoch is kept in the data directory");
            try (KvClient client = new KvClient(new KvClient.Context().endpoint(config.self().clientEndpoint())
                .clusterId(config.clusterId()).credentials(5, clientKey)))
            {
                assertEquals(KvProtocol.OK, client.call(KvProtocol.PUT, "a", "1".getBytes(StandardCharsets.UTF_8), null, false).status());
                assertEquals("1", client.call(KvProtocol.GET, "a", null, null, true).valueText());
            }
            final ClientException unsigned = assertThrows(ClientException.class, () -> new KvClient(new KvClient.Context()
                .endpoint(config.self().clientEndpoint()).clusterId(config.clusterId()).connectTimeout(1, TimeUnit.SECONDS)));
            assertTrue(unsigned.getMessage().startsWith("no leader opened a session"), unsigned.getMessage());
            assertTrue(node.serviceNode().ingressCounters().authDropped(io.ringraft.transport.aeron.ClientAuth.UNAUTHENTICATED) > 0);

            final List<String> endpoints = List.of(config.self().clientEndpoint());
            try (RingraftClient unsignedAdmin = adminClient(endpoints, 0, null);
                RingraftClient user = adminClient(endpoints, 5, clientKey);
                RingraftClient admin = adminClient(endpoints, 6, adminKeyFile))
            {
                assertEquals(AdminProtocol.NO_ANSWER, unsignedAdmin.snapshot(Duration.ofSeconds(1)).status(),
                    "an unsigned admin request is dropped");
                final AdminOutcome look = user.clusterStatus(Duration.ofSeconds(5));
                assertEquals(AdminStatus.OK, look.status(), "any client may look: " + look);
                final AdminOutcome refused = user.snapshot(Duration.ofSeconds(5));
                assertEquals(AdminProtocol.BAD_REQUEST, refused.status(), refused.toString());
                assertTrue(refused.message().contains("client 5 may not change the cluster"), refused.message());
                final AdminOutcome done = admin.snapshot(Duration.ofSeconds(10));
                assertEquals(AdminStatus.OK, done.status(), done.toString());
                assertEquals(0, unsignedAdmin.refusedResponses() + user.refusedResponses() + admin.refusedResponses());
            }
        }
    }

    @Test
    void aDataDirectoryOfAnotherNodeIsRefused() throws IOException
    {
        final Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve(RingraftNode.ID_FILE), "cluster.id=3\nnode.id=2\n");
        final NodeConfig config = NodeConfig.parse(List.of("cluster.id = 3", "node.id = 1",
            "member.1 = 127.0.0.1:" + CommandLineTest.freePort() + " 127.0.0.1:" + CommandLineTest.freePort(), "data.dir = " + data),
            "test", null, false);
        final CliException ex = assertThrows(CliException.class, () -> RingraftNode.start(config));
        assertTrue(ex.getMessage().contains("belongs to node.id=2, not node.id=1"), ex.getMessage());
    }

    private static RingraftClient adminClient(final List<String> endpoints, final long clientId, final Path keyFile)
    {
        return RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(3).session(false)
            .credentials(clientId, keyFile));
    }

    private static KvClient client(final NodeConfig config)
    {
        return new KvClient(new KvClient.Context().endpoint(config.self().clientEndpoint()).clusterId(config.clusterId()));
    }
}
