package io.ringraft.transport.aeron;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.WriteResult;
import io.ringraft.engine.InputDropReason;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An adversarial peer in its own JVM ({@link AdversaryMain}) that knows the cluster id and the
 * members' ids, captures the genuine traffic from node 1 to node 2 as a relay on its path, and
 * sends well-formed hostile frames at a three-node cluster under client load.
 * <ul>
 *   <li>Without authentication (Raft assumes honest peers, so a forger can disrupt elections):
 *       no node dies, no message truncates a committed entry, flipped bits are caught by the entry
 *       checksums, and the nodes end with the same applied sequence holding every acknowledged write.</li>
 *   <li>With authentication (the adversary signs with a key of its own): every hostile frame is
 *       dropped and counted by the transport, none reaches the protocol, the leader and term do
 *       not change, and no acknowledged write is lost.</li>
 * </ul>
 */
class AdversaryProcessTest
{
    private static final int CLUSTER = 0x4164;
    private static final long ATTACK_MILLIS = 4_000;

    @TempDir
    Path dir;

    private final List<Raft> nodes = new ArrayList<>();
    private final List<AeronRaftNetwork> networks = new ArrayList<>();
    private final List<Recording> machines = new ArrayList<>();
    private final List<String> adversaryOutput = new CopyOnWriteArrayList<>();
    private Process adversary;

    @AfterEach
    void closeAll() throws Exception
    {
        if (adversary != null)
        {
            adversary.getOutputStream().close();
            adversary.waitFor(10, TimeUnit.SECONDS);
            adversary.destroyForcibly();
            adversary.waitFor(10, TimeUnit.SECONDS);
        }
        nodes.forEach(Raft::close);
    }

    /** Keeps the 8-byte commands it applies, in order. */
    static final class Recording implements RaftStateMachine
    {
        private final List<Long> applied = new ArrayList<>();

        @Override
        public LogId lastApplied()
        {
            return LogId.ZERO;
        }

        @Override
        public synchronized int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            applied.add(length == 8 ? payload.getLong(offset) : -1 - length);
            return 0;
        }

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            throw new UnsupportedOperationException("no snapshots in this test");
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            throw new UnsupportedOperationException("no snapshots in this test");
        }

        synchronized List<Long> commands()
        {
            return new ArrayList<>(applied);
        }
    }

    @Test
    void withoutAuthenticationNoNodeDiesNothingCommittedIsLostAndFlippedBitsAreCaught() throws Exception
    {
        final Attack attack = attack(null, null);
        assertTrue(attack.counts.get("FLIPPED_ENTRY_BIT") > 0 && attack.counts.get("TRUNCATE_BELOW_COMMIT") > 0, attack.toString());
        final Map<InputDropReason, Long> dropped = droppedInput();
        assertTrue(dropped.get(InputDropReason.ENTRY_CHECKSUM) > 0, "flipped bits caught by the checksums: " + dropped);
        assertTrue(dropped.get(InputDropReason.TRUNCATES_COMMITTED) > 0, "truncations below the commit index dropped: " + dropped);
        System.out.println("AdversaryProcessTest without authentication: " + attack + "; dropped by the engines " + dropped +
            "; terms " + attack.termBefore + " -> " + attack.termAfter + ", " + attack.acknowledged + " writes acknowledged");
    }

    @Test
    void withAuthenticationEveryHostileFrameIsDroppedAndCountedAndNothingChanges() throws Exception
    {
        final Path clusterKey = dir.resolve("cluster.key");
        Files.writeString(clusterKey, "key.1 = " + AuthenticatedClusterTest.KEY_A + "\n");
        final Path forgerKey = dir.resolve("forger.key");
        Files.writeString(forgerKey, "key.1 = " + AuthenticatedClusterTest.KEY_B + "\n");
        final Attack attack = attack(clusterKey, forgerKey);
        long rejected = 0;
        for (final AeronRaftNetwork network : networks)
        {
            final TransportCounters c = network.counters();
            rejected += c.dropped(DropReason.BAD_MAC) + c.dropped(DropReason.UNKNOWN_KEY) + c.dropped(DropReason.UNAUTHENTICATED) +
                c.dropped(DropReason.REPLAYED) + c.dropped(DropReason.OLD_EPOCH);
        }
        // A replayed datagram is a captured Aeron frame, which may batch several genuine messages: each is
        // dropped and counted, so the transports count at least one drop per hostile datagram, and more
        // only for replays (every other attack sends one message a datagram).
        assertTrue(rejected >= attack.sent && rejected - attack.sent <= attack.counts.get("REPLAY") * 31L,
            "every hostile frame dropped and counted by the transports: " + rejected + " dropped, " + attack);
        assertTrue(attack.counts.get("REPLAY") > 0 && attack.counts.get("FLIPPED_ENTRY_BIT") > 0, attack.toString());
        assertTrue(networks.get(1).counters().dropped(DropReason.REPLAYED) > 0, "replays of captured frames recognised");
        final Map<InputDropReason, Long> dropped = droppedInput();
        assertEquals(0, dropped.values().stream().mapToLong(Long::longValue).sum(), "nothing hostile reached a protocol engine: " + dropped);
        assertEquals(attack.termBefore, attack.termAfter, "no election");
        assertEquals(attack.leaderBefore, attack.leaderAfter, "the same leader");
        System.out.println("AdversaryProcessTest with authentication: " + attack + "; transports dropped " + rejected + "; " +
            attack.acknowledged + " writes acknowledged (" + attack.rateBefore + "/s before the attack, " + attack.rateDuring + "/s during)");
    }

    private Map<InputDropReason, Long> droppedInput()
    {
        final Map<InputDropReason, Long> total = new TreeMap<>();
        for (final Raft node : nodes)
        {
            node.metrics().droppedInput().forEach((reason, n) -> total.merge(reason, n, Long::sum));
        }
        return total;
    }

    /** What the adversary reported, and the cluster around the attack. */
    private static final class Attack
    {
        long sent;
        final Map<String, Long> counts = new HashMap<>();
        long captured;
        long termBefore;
        long termAfter;
        long leaderBefore;
        long leaderAfter;
        long acknowledged;
        long rateBefore;
        long rateDuring;

        @Override
        public String toString()
        {
            return "adversary sent " + sent + " " + counts + ", captured " + captured;
        }
    }

    /**
     * Starts the adversary and the cluster (node 1 reaches node 2 through the adversary's relay),
     * loads the leader during the attack, then checks what must hold with or without a key.
     */
    private Attack attack(final Path clusterKey, final Path forgerKey) throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        final int relayPort = LoopbackPorts.freePort();
        adversary = startAdversary(endpoints, relayPort, forgerKey);
        awaitLine("ready", Duration.ofSeconds(30));
        for (long id = 1; id <= 3; id++)
        {
            final Map<Long, String> seen = new TreeMap<>(endpoints);
            if (id == 1)
            {
                seen.put(2L, "127.0.0.1:" + relayPort);
            }
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER).endpoints(seen).termLength(256 * 1024).embeddedDriver(true)
                .authKeyFile(clusterKey).authEpochFile(clusterKey == null ? null : dir.resolve("epoch-" + id)));
            networks.add(network);
            final Recording machine = new Recording();
            machines.add(machine);
            // Node 1 stands first, so the relay on its way to node 2 sees the leader's traffic. Without
            // backoff: its attempts before the others' publications connect get no answer, and a
            // backed-off node 1 would leave the first election to node 2 or 3.
            nodes.add(Raft.start(new RaftConfig().nodeId(id).randomSeed(id * 13)
                .electionTimeout(id == 1 ? 500 : 1500, id == 1 ? 700 : 2500, TimeUnit.MILLISECONDS)
                .electionBackoffLimit(id == 1 ? 0 : 2)
                .maxPayloadLength(16 * 1024).snapshotEveryEntries(0), new InMemoryLogStorage(), network, machine, Membership.of(1, 2, 3)));
        }

        final Attack attack = new Attack();
        final Map<Long, Long> acknowledged = new ConcurrentHashMap<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong next = new AtomicLong(1);
        final Thread load = new Thread(() -> load(acknowledged, stop, next), "load");
        Raft leader = leader();
        attack.termBefore = leader.metrics().term();
        attack.leaderBefore = leader.nodeId();
        load.start();
        try
        {
            final long startBefore = System.nanoTime();
            awaitLine("attacking", Duration.ofSeconds(70));
            final long ackedBefore = acknowledged.size();
            attack.rateBefore = ackedBefore * 1_000_000_000L / Math.max(1, System.nanoTime() - startBefore);
            final long attackStart = System.nanoTime();
            final String sent = awaitLine("sent ", Duration.ofMillis(ATTACK_MILLIS + 30_000));
            attack.rateDuring = (acknowledged.size() - ackedBefore) * 1_000_000_000L / Math.max(1, System.nanoTime() - attackStart);
            attack.sent = Long.parseLong(sent.substring(5).trim());
            for (int i = 0; i < AdversaryMain.Kind.values().length; i++)
            {
                final String[] words = awaitLine("kind ", Duration.ofSeconds(10)).split(" ");
                attack.counts.put(words[1], Long.parseLong(words[2]));
            }
            attack.captured = Long.parseLong(awaitLine("captured ", Duration.ofSeconds(10)).substring(9).trim());
            System.out.println("AdversaryProcessTest: adversary output " + adversaryOutput);
            Thread.sleep(1_000); // the last hostile frames are delivered and counted
        }
        finally
        {
            stop.set(true);
            load.join();
        }

        // No node died; they converge on one applied sequence that holds every acknowledged write, once.
        for (final Raft node : nodes)
        {
            assertNull(node.failure(), "node " + node.nodeId() + " failed");
        }
        leader = leader();
        attack.termAfter = leader.metrics().term();
        attack.leaderAfter = leader.nodeId();
        assertTrue(leader.clientWrite(command(0)).get(20, TimeUnit.SECONDS).isOk(), "the cluster commits after the attack");
        final long last = leader.metrics().lastLogIndex();
        for (final Raft node : nodes)
        {
            node.waitFor(m -> m.appliedIndex() >= last, Duration.ofSeconds(30));
        }
        final List<Long> reference = machines.get(0).commands();
        for (int i = 1; i < 3; i++)
        {
            final List<Long> other = machines.get(i).commands();
            final int n = Math.min(reference.size(), other.size());
            assertEquals(reference.subList(0, n), other.subList(0, n), "node " + (i + 1) + " applied the same sequence");
        }
        final Map<Long, Integer> position = new HashMap<>();
        for (int i = 0; i < reference.size(); i++)
        {
            final long command = reference.get(i);
            if (command > 0)
            {
                assertNull(position.put(command, i), "command " + command + " applied twice");
            }
        }
        for (final long command : acknowledged.keySet())
        {
            assertNotNull(position.get(command), "acknowledged command " + command + " is applied");
        }
        attack.acknowledged = acknowledged.size();
        assertTrue(attack.acknowledged > 0, "writes were acknowledged under attack");
        return attack;
    }

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[8];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }

    /** Writes in windows of 32 to whichever node leads, keeping the acknowledged commands. */
    private void load(final Map<Long, Long> acknowledged, final AtomicBoolean stop, final AtomicLong next)
    {
        final List<CompletableFuture<WriteResult>> window = new ArrayList<>();
        final long[] values = new long[32];
        while (!stop.get())
        {
            Raft leader = null;
            for (final Raft node : nodes)
            {
                leader = node.isLeader() ? node : leader;
            }
            if (leader == null)
            {
                sleep(5);
                continue;
            }
            for (int i = 0; i < values.length; i++)
            {
                values[i] = next.getAndIncrement();
                window.add(leader.clientWrite(command(values[i])));
            }
            for (int i = 0; i < values.length; i++)
            {
                final WriteResult r = window.get(i).join();
                if (r.isOk())
                {
                    acknowledged.put(values[i], r.index());
                }
            }
            window.clear();
        }
    }

    private static void sleep(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                final RaftMetrics m = n.metrics();
                if (m.isLeader() && nodes.stream().allMatch(o -> o.metrics().leaderId() == m.nodeId()))
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        final StringBuilder state = new StringBuilder();
        for (int i = 0; i < nodes.size(); i++)
        {
            state.append("\n  ").append(nodes.get(i).metrics()).append("\n  ").append(networks.get(i).counters());
            for (long peer = 1; peer <= 3; peer++)
            {
                state.append(" connected(").append(peer).append(")=").append(networks.get(i).isConnected(peer));
            }
        }
        throw new AssertionError("no leader agreed on within 30 s; adversary: " + adversaryOutput + state);
    }

    private Process startAdversary(final Map<Long, String> endpoints, final int relayPort, final Path key) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        final String flags = System.getProperty("ringraft.jvmFlags");
        assertNotNull(flags, "surefire passes ringraft.jvmFlags");
        command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        command.addAll(List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
            AdversaryMain.class.getName(), Integer.toString(CLUSTER), EchoNode.endpointsArg(endpoints), Integer.toString(relayPort),
            key == null ? "none" : key.toString(), Long.toString(ATTACK_MILLIS), Long.toString(System.nanoTime())));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    adversaryOutput.add(line);
                }
            }
            catch (final java.io.IOException ignored)
            {
                // the process ended
            }
        }, "adversary-output");
        reader.setDaemon(true);
        reader.start();
        return process;
    }

    private int consumed;

    /** @return the next line of the adversary's output that starts with {@code prefix}, skipping others */
    private String awaitLine(final String prefix, final Duration timeout) throws InterruptedException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline)
        {
            while (consumed < adversaryOutput.size())
            {
                final String line = adversaryOutput.get(consumed++);
                if (line.startsWith(prefix))
                {
                    return line;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the adversary did not print \"" + prefix + "\" in time; its output: " + adversaryOutput +
            (adversary.isAlive() ? "" : " (exited " + adversary.exitValue() + ")"));
    }
}
