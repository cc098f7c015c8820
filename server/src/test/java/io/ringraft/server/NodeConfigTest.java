package io.ringraft.server;

import io.ringraft.ThreadingMode;
import io.ringraft.engine.PlantedBug;
import io.ringraft.storage.DurabilityPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeConfigTest
{
    private static final String KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    @TempDir
    Path dir;

    private static final List<String> VALID = List.of(
        "# a cluster of three",
        "cluster.id = 7",
        "node.id = 2",
        "member.1 = 127.0.0.1:9001 127.0.0.1:9101",
        "member.2 = 127.0.0.1:9002 127.0.0.1:9102   # this node",
        "member.3 = 127.0.0.1:9003, 127.0.0.1:9103",
        "data.dir = /var/lib/ringraft/node-{id}",
        "durability = always",
        "threading = DEDICATED",
        "idle = yielding",
        "aeron.term.length = 128k",
        "election.timeout.ms = 200-400",
        "heartbeat.ms = 40",
        "snapshot.every = 5000",
        "snapshot.log.ratio = 2.5");

    @Test
    void readsEverySetting()
    {
        final NodeConfig c = NodeConfig.parse(VALID, "test", null, false);
        assertEquals(7, c.clusterId());
        assertEquals(2, c.nodeId());
        assertEquals(3, c.members().size());
        assertEquals("127.0.0.1:9002", c.self().raftEndpoint());
        assertEquals("127.0.0.1:9103", c.members().get(3L).clientEndpoint());
        assertEquals(Path.of("/var/lib/ringraft/node-2"), c.dataDir());
        assertEquals(Path.of("/var/lib/ringraft/node-3"), c.dataDirOf(3));
        assertTrue(c.dataDirPerMember());
        assertEquals(DurabilityPolicy.ALWAYS, c.durability());
        assertEquals(ThreadingMode.DEDICATED, c.threading());
        assertTrue(c.embeddedDriver());
        assertEquals(128 * 1024, c.termLength());
        assertEquals(200, c.electionMinMs());
        assertEquals(400, c.electionMaxMs());
        assertEquals(40, c.heartbeatMs());
        assertEquals(5000, c.snapshotEvery());
        assertEquals(2.5, c.snapshotLogRatio());
        assertEquals(1.0, NodeConfig.parse(replace("snapshot.log.ratio = 2.5", ""), "test", null, false).snapshotLogRatio(), "the default");
        assertInstanceOf(org.agrona.concurrent.YieldingIdleStrategy.class, c.idleStrategy().get());
        assertInstanceOf(io.ringraft.YieldThenParkIdleStrategy.class,
            NodeConfig.parse(replace("idle = yielding", "idle = yield-park"), "test", null, false).idleStrategy().get());
        final List<String> composed = replace("idle = yielding", "idle = yield-wait");
        composed.set(composed.indexOf("threading = DEDICATED"), "threading = INVOKER");
        final org.agrona.concurrent.IdleStrategy waiting = NodeConfig.parse(composed, "test", null, false).idleStrategy().get();
        assertInstanceOf(io.ringraft.YieldThenWaitIdleStrategy.class, waiting);
        assertTrue(waiting.toString().contains("longWaitMillis=10"), "a quarter of the 40 ms heartbeat: " + waiting);
    }

    @Test
    void hiddenPlantedBugSettingIsReadAndCheckedButNotListed()
    {
        assertEquals(PlantedBug.NONE, NodeConfig.parse(VALID, "test", null, false).plantedBug());
        final List<String> lines = new ArrayList<>(VALID);
        lines.add(NodeConfig.PLANTED_BUG + " = commit_without_quorum");
        assertEquals(PlantedBug.COMMIT_WITHOUT_QUORUM, NodeConfig.parse(lines, "test", null, false).plantedBug());
        lines.set(lines.size() - 1, NodeConfig.PLANTED_BUG + " = SOMETIMES");
        final CliException ex = assertThrows(CliException.class, () -> NodeConfig.parse(lines, "test", null, false));
        assertTrue(ex.getMessage().contains("test.planted.bug=SOMETIMES"), ex.getMessage());
        assertFalse(NodeConfig.KEYS.contains(NodeConfig.PLANTED_BUG), "not among the documented settings");
    }

    @Test
    void aSlowDiskForFaultTestsIsReadAndChecked()
    {
        assertEquals(0, NodeConfig.parse(VALID, "test", null, false).syncDelayMs(), "no delay unless asked");
        final List<String> lines = new ArrayList<>(VALID);
        lines.add("storage.sync.delay.ms = 500");
        assertEquals(500, NodeConfig.parse(lines, "test", null, false).syncDelayMs());
        lines.set(lines.size() - 1, "storage.sync.delay.ms = -3");
        final CliException ex = assertThrows(CliException.class, () -> NodeConfig.parse(lines, "test", null, false));
        assertTrue(ex.getMessage().contains("storage.sync.delay.ms"), ex.getMessage());

        assertEquals(null, NodeConfig.parse(VALID, "test", null, false).syncDelayFile(), "no file unless asked");
        lines.set(lines.size() - 1, "storage.sync.delay.file = /tmp/delay-{id}.ms");
        assertEquals(Path.of("/tmp/delay-2.ms"), NodeConfig.parse(lines, "test", null, false).syncDelayFile(), "{id} is the node id");
        assertEquals(Path.of("/tmp/delay-2.ms"), NodeConfig.parse(List.of(NodeConfig.parse(lines, "test", null, false).render()
            .split("\n")), "test", null, false).syncDelayFile(), "rendered and read back");
        lines.set(lines.size() - 1, "storage.sync.delay.file =  ");
        final CliException blank = assertThrows(CliException.class, () -> NodeConfig.parse(lines, "test", null, false));
        assertTrue(blank.getMessage().contains("storage.sync.delay.file") && blank.getMessage().contains("must name a file"),
            blank.getMessage());
    }

    @Test
    void renderedSettingsReadBackTheSame()
    {
        final NodeConfig c = NodeConfig.parse(VALID, "test", null, false);
        final NodeConfig again = NodeConfig.parse(List.of(c.render().split("\n")), "rendered", null, false);
        assertEquals(c.settings(), again.settings());
    }

    @Test
    void commandLineIdOverridesTheFile()
    {
        assertEquals(3, NodeConfig.parse(VALID, "test", 3L, false).nodeId());
    }

    @Test
    void defaults()
    {
        final NodeConfig c = NodeConfig.parse(List.of("cluster.id=1", "node.id=1", "member.1=127.0.0.1:1 127.0.0.1:2", "data.dir=/tmp/x"),
            "test", null, false);
        assertEquals(DurabilityPolicy.BATCH, c.durability());
        // The layout follows the machine: composed, sleeping on its sockets, on few cores; threads on more.
        final boolean few = Runtime.getRuntime().availableProcessors() <= NodeConfig.FEW_CORES;
        assertEquals(few ? ThreadingMode.INVOKER : ThreadingMode.SHARED, c.threading());
        final Class<?> idleType = few ? io.ringraft.YieldThenWaitIdleStrategy.class : org.agrona.concurrent.BackoffIdleStrategy.class;
        assertEquals(idleType, c.idleStrategy().get().getClass());
        final NodeConfig external = NodeConfig.parse(List.of("cluster.id=1", "node.id=1", "member.1=127.0.0.1:1 127.0.0.1:2",
            "data.dir=/tmp/x", "media.driver=external", "aeron.dir=/dev/shm/x"), "test", null, false);
        assertEquals(ThreadingMode.SHARED, external.threading(), "a driver elsewhere: threads");
        assertInstanceOf(org.agrona.concurrent.BackoffIdleStrategy.class, external.idleStrategy().get());
        assertEquals(256 * 1024, c.termLength());
        assertEquals(0, c.mtu(), "auto");
        assertFalse(c.dataDirPerMember());
    }

    @Test
    void aClientConfigNeedsNoNodeId()
    {
        final List<String> lines = new ArrayList<>(VALID);
        lines.remove("node.id = 2");
        assertEquals(1, NodeConfig.parse(lines, "test", null, true).nodeId());
        assertProblem(lines, "node.id is required");
    }

    @Test
    void duplicateNodeIdIsRefused()
    {
        assertProblem(with("member.2 = 127.0.0.1:9005 127.0.0.1:9105"), "member.2 is set twice (also line 5): duplicate node id");
        assertProblem(with("member.02 = 127.0.0.1:9005 127.0.0.1:9105"), "member.02=127.0.0.1:9005 127.0.0.1:9105 duplicate node id 2");
    }

    @Test
    void anEndpointUsedTwiceIsRefused()
    {
        assertProblem(with("member.4 = 127.0.0.1:9001 127.0.0.1:9104"), "endpoint 127.0.0.1:9001 is used twice (also by member.1)");
    }

    @Test
    void endpointsThatDoNotParseAreRefused()
    {
        assertProblem(with("member.4 = 127.0.0.1 127.0.0.1:9104"), "member.4 raft endpoint=127.0.0.1: not host:port");
        assertProblem(with("member.4 = 127.0.0.1:9004 127.0.0.1:x"), "member.4 client endpoint=127.0.0.1:x: the port is not a number");
        assertProblem(with("member.4 = 127.0.0.1:70000 127.0.0.1:9104"), "the port must be in 1..65535");
        assertProblem(with("member.4 = no-such-host.invalid:9004 127.0.0.1:9104"), "unknown host no-such-host.invalid");
        assertProblem(with("member.4 = 127.0.0.1:9004"), "member.4=127.0.0.1:9004 must be 'raftHost:port clientHost:port'");
    }

    @Test
    void badValuesNameTheSetting()
    {
        assertProblem(replace("durability = always", "durability = sometimes"), "durability=sometimes must be one of NONE, BATCH, ALWAYS");
        assertProblem(replace("threading = DEDICATED", "threading = many"), "threading=many must be one of");
        assertProblem(replace("idle = yielding", "idle = nap"), "idle=nap must be one of backoff, yield-park, yield-wait, yielding, sleeping, busy-spin");
        assertProblem(replace("idle = yielding", "idle = yield-wait"),
            "idle=yield-wait needs threading=INVOKER and media.driver=embedded (it waits on the sockets of the driver its thread " +
            "runs); this node has threading=DEDICATED and media.driver=embedded");
        assertProblem(replace("aeron.term.length = 128k", "aeron.term.length = 100k"), "aeron.term.length=100k must be a power of two");
        assertProblem(with("aeron.mtu = 32k"), "aeron.mtu=32k must be at most the term length / 8 (16384 with a term length of 131072) " +
            "(aeron.term.length=131072)");
        assertProblem(with("aeron.mtu = 1500"), "aeron.mtu=1500 must be 0 (auto) or a multiple of 32");
        assertProblem(with("aeron.mtu = 512"), "aeron.mtu=512 must be in 1024..65504");
        assertProblem(with("aeron.mtu = big"), "aeron.mtu=big is not a number");
        assertEquals(9024, NodeConfig.parse(with("aeron.mtu = 9024"), "test", null, false).mtu());
        assertEquals(0, NodeConfig.parse(with("aeron.mtu = AUTO"), "test", null, false).mtu());
        assertProblem(replace("election.timeout.ms = 200-400", "election.timeout.ms = 400-200"), "election.timeout.ms=400-200 must be");
        assertProblem(replace("cluster.id = 7", "cluster.id = seven"), "cluster.id=seven is not a number");
        assertProblem(replace("snapshot.log.ratio = 2.5", "snapshot.log.ratio = -1"), "snapshot.log.ratio=-1 must be in 0.0..1000000.0");
        assertProblem(replace("snapshot.log.ratio = 2.5", "snapshot.log.ratio = NaN"), "snapshot.log.ratio=NaN must be in");
        assertProblem(replace("snapshot.log.ratio = 2.5", "snapshot.log.ratio = much"), "snapshot.log.ratio=much is not a number");
        assertProblem(replace("node.id = 2", "node.id = 9"), "node.id=9 is not a member");
        assertProblem(with("colour = blue"), "colour=blue is not a setting");
        assertProblem(with("media.driver = external"), "media.driver=external needs aeron.dir");
        assertProblem(with("just words"), "line 16: 'just words' is not key = value");
    }

    @Test
    void authFilesAreReadAndCheckedWhenTheConfigIs() throws Exception
    {
        final Path clusterKey = Files.writeString(dir.resolve("cluster.key"), "key.1 = " + KEY + "\n");
        final Path clients = Files.writeString(dir.resolve("clients"), "client.5.key.1 = " + KEY + "\nclient.5.admin = true\n");
        final List<String> lines = new ArrayList<>(VALID);
        lines.add("auth.cluster.key.file = " + clusterKey);
        lines.add("auth.client.credentials.file = " + clients);
        lines.add("auth.client.required = true");
        final NodeConfig config = NodeConfig.parse(lines, "test", null, false);
        assertEquals(clusterKey, config.clusterKeyFile());
        assertEquals(clients, config.clientCredentialsFile());
        assertTrue(config.clientAuthRequired());
        final NodeConfig plain = NodeConfig.parse(VALID, "test", null, false);
        assertEquals(null, plain.clusterKeyFile());
        assertFalse(plain.clientAuthRequired());

        final Path missing = dir.resolve("absent.key");
        assertProblem(with("auth.cluster.key.file = " + missing), "auth.cluster.key.file=" + missing + " is refused: key file " + missing +
            " cannot be read");
        final Path shortKey = Files.writeString(dir.resolve("short.key"), "key.1 = 0102\n");
        assertProblem(with("auth.cluster.key.file = " + shortKey), "auth.cluster.key.file=" + shortKey + " is refused: key file " +
            shortKey + ": key.1 must be 16 to 64 bytes, is 2");
        final Path unreadable = Files.createDirectories(dir.resolve("a-directory"));
        assertProblem(with("auth.client.credentials.file = " + unreadable), "auth.client.credentials.file=" + unreadable +
            " is refused: credentials file " + unreadable + " cannot be read");
        final Path badClients = Files.writeString(dir.resolve("bad-clients"), "client.5.key.1 = " + KEY + "\nclient.5.admin = yes\n");
        assertProblem(with("auth.client.credentials.file = " + badClients), "line 2: client.5.admin=yes must be true or false");
        assertProblem(with("auth.client.required = yes"), "auth.client.required=yes must be true or false");
        assertProblem(with("auth.client.required = true"), "auth.client.required=true needs auth.client.credentials.file");
        assertProblem(with("auth.cluster.key.file = "), "auth.cluster.key.file= must name a file");
        for (final String message : List.of(String.valueOf(assertThrows(CliException.class,
            () -> NodeConfig.parse(with("auth.cluster.key.file = " + shortKey), "t", null, false)).getMessage())))
        {
            assertFalse(message.contains("\n"), "one line: " + message);
        }
        // A client reading a node's config does not hold (or check) the node's key files.
        final List<String> clientView = with("auth.cluster.key.file = " + missing);
        clientView.remove("node.id = 2");
        assertEquals(missing, NodeConfig.parse(clientView, "test", null, true).clusterKeyFile());
    }

    private static List<String> with(final String line)
    {
        final List<String> lines = new ArrayList<>(VALID);
        lines.add(line);
        return lines;
    }

    private static List<String> replace(final String line, final String by)
    {
        final List<String> lines = new ArrayList<>(VALID);
        lines.set(lines.indexOf(line), by);
        return lines;
    }

    private static void assertProblem(final List<String> lines, final String expected)
    {
        final CliException ex = assertThrows(CliException.class, () -> NodeConfig.parse(lines, "config f", null, false));
        assertTrue(ex.getMessage().startsWith("config f"), ex.getMessage());
        assertTrue(ex.getMessage().contains(expected), "'" + ex.getMessage() + "' should contain '" + expected + "'");
        assertFalse(ex.getMessage().contains("\n"), "one line: " + ex.getMessage());
        assertEquals(CliException.USAGE, ex.exitStatus());
    }
}
