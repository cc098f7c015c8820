package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.network.TimeoutNow;
import io.ringraft.testkit.conformance.RaftNetworkConformance;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** AeronRaftNetwork behaviour beyond the conformance suite: restarts, an external driver, junk on the wire, limits. */
class AeronRaftNetworkTest
{
    private static final int CLUSTER = 11;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        for (int i = resources.size() - 1; i >= 0; i--)
        {
            CloseHelper.quietClose(resources.get(i));
        }
    }

    private <T extends AutoCloseable> T track(final T resource)
    {
        resources.add(resource);
        return resource;
    }

    private AeronRaftNetwork network(final long nodeId, final Map<Long, String> endpoints, final int termLength)
    {
        return track(new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(nodeId).clusterId(CLUSTER).endpoints(endpoints).termLength(termLength).embeddedDriver(true)));
    }

    @Test
    void publicationsToLoopbackPeersCarryLargeDatagramsUnlessTheMtuIsSet()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final AeronRaftNetwork auto = network(1, endpoints, 256 * 1024);
        assertEquals(PublicationChannels.LOOPBACK_MTU, auto.publicationMtu(2));
        assertEquals(-1, auto.publicationMtu(1), "no publication to itself");
        final AeronRaftNetwork set = track(new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(2).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).mtu(1408).embeddedDriver(true)));
        assertEquals(1408, set.publicationMtu(1));
        // An entry batch larger than Aeron's default MTU arrives whole over the 8 KiB datagrams.
        final AppendEntriesRequest big = bigAppend();
        sendUntilSent(auto, big);
        awaitMessage(set, big);
    }

    @Test
    void peerThatRestartsOnItsEndpointIsReachableAgain()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final AeronRaftNetwork one = network(1, endpoints, 64 * 1024);
        final AeronRaftNetwork two = network(2, endpoints, 64 * 1024);
        sendUntilSent(one, new TimeoutNow(1, 2, 1));
        awaitMessage(two, new TimeoutNow(1, 2, 1));

        two.close();
        // Aeron notices the lost subscriber when its status messages stop.
        awaitTrue(() -> one.send(new TimeoutNow(1, 2, 2)) == RaftNetwork.NOT_CONNECTED, "send to the stopped peer is NOT_CONNECTED");
        assertFalse(one.isConnected(2));
        assertTrue(one.counters().notConnected() > 0);

        final AeronRaftNetwork restarted = network(2, endpoints, 64 * 1024);
        sendUntilSent(one, new TimeoutNow(1, 2, 3));
        awaitMessage(restarted, new TimeoutNow(1, 2, 3));
        assertTrue(one.isConnected(2));
        sendUntilSent(restarted, new TimeoutNow(2, 1, 4));
        awaitMessage(one, new TimeoutNow(2, 1, 4));
    }

    @Test
    void peersFollowTheMembershipPublicationsOpenAndCloseAndNonMembersAreDroppedAndCounted()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        // Node 1 is configured with node 2 only (the seed); node 3 is reachable through the membership alone.
        final AeronRaftNetwork one = network(1, Map.of(1L, endpoints.get(1L), 2L, endpoints.get(2L)), 64 * 1024);
        final AeronRaftNetwork two = network(2, endpoints, 64 * 1024);
        final AeronRaftNetwork three = network(3, endpoints, 64 * 1024);
        assertArrayEquals(new long[]{2}, one.peers());
        assertEquals(RaftNetwork.NOT_CONNECTED, one.send(new TimeoutNow(1, 3, 1)), "node 3 is unknown before the membership names it");

        // Node 3 joins as a learner with its endpoint (and a client address after it, for other layers).
        one.onMembershipChanged(Membership.of(new long[]{1, 2}, new long[0], new long[]{3},
            Map.of(3L, endpoints.get(3L) + " 127.0.0.1:1")));
        assertArrayEquals(new long[]{2, 3}, one.peers());
        sendUntilSent(one, new TimeoutNow(1, 3, 2));
        awaitMessage(three, new TimeoutNow(1, 3, 2));
        sendUntilSent(three, new TimeoutNow(3, 1, 3));
        awaitMessage(one, new TimeoutNow(3, 1, 3));

        // Node 2 is removed: its publication closes and its frames are dropped and counted.
        one.onMembershipChanged(Membership.of(new long[]{1, 3}, new long[0], new long[0], Map.of(3L, endpoints.get(3L))));
        assertArrayEquals(new long[]{3}, one.peers());
        assertEquals(RaftNetwork.NOT_CONNECTED, one.send(new TimeoutNow(1, 2, 4)));
        final long droppedBefore = one.counters().dropped(DropReason.UNKNOWN_SENDER);
        awaitTrue(() ->
        {
            two.send(new TimeoutNow(2, 1, 5));
            one.poll(m -> fail("a removed node's message was delivered: " + m), 100);
            return one.counters().dropped(DropReason.UNKNOWN_SENDER) > droppedBefore;
        }, "the removed node's frames are dropped and counted");
        sendUntilSent(three, new TimeoutNow(3, 1, 6));
        awaitMessage(one, new TimeoutNow(3, 1, 6));

        // A member whose endpoint in the log is unusable is counted, never thrown at the caller.
        one.onMembershipChanged(Membership.of(new long[]{1, 3}, new long[0], new long[]{4}, Map.of(3L, endpoints.get(3L), 4L, "nowhere")));
        assertEquals(1, one.counters().endpointsRefused());
        assertArrayEquals(new long[]{3}, one.peers());
    }

    @Test
    void nodesShareAnExternalDriverThatOutlivesThem()
    {
        final EmbeddedMediaDriver driver = track(EmbeddedMediaDriver.launch(0, 64 * 1024));
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final AeronRaftNetwork one = track(new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(1).clusterId(CLUSTER).endpoints(endpoints).termLength(64 * 1024).externalDriver(driver.aeronDirectoryName())));
        final AeronRaftNetwork two = track(new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(2).clusterId(CLUSTER).endpoints(endpoints).termLength(64 * 1024).externalDriver(driver.aeronDirectoryName())));
        assertEquals(driver.aeronDirectoryName(), one.aeronDirectoryName());
        sendUntilSent(one, new TimeoutNow(1, 2, 5));
        awaitMessage(two, new TimeoutNow(1, 2, 5));
        one.close();
        two.close();
        assertTrue(new File(driver.aeronDirectoryName()).isDirectory(), "an external driver is not the network's to stop");
        driver.close();
        assertFalse(new File(driver.aeronDirectoryName()).exists(), "the driver's directory is deleted on close");
    }

    @Test
    void messageLargerThanTheMaximumThrowsAndTheNetworkCarriesOn()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final AeronRaftNetwork one = network(1, endpoints, 64 * 1024);
        final AeronRaftNetwork two = network(2, endpoints, 64 * 1024);
        assertEquals(8192, one.maxMessageLength());
        final List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 10; i++)
        {
            entries.add(new Entry(1, 1 + i, EntryType.NORMAL, new byte[1000]));
        }
        final AppendEntriesRequest tooLarge = new AppendEntriesRequest(1, 2, 1, LogId.ZERO, 0, 1, entries);
        final MessageTooLargeException ex = assertThrows(MessageTooLargeException.class, () -> one.send(tooLarge));
        assertEquals(WireFormat.appendEntriesLength(10, 10_000), ex.length());
        final AppendEntriesRequest fits = new AppendEntriesRequest(1, 2, 1, LogId.ZERO, 0, 1, entries.subList(0, 7));
        assertTrue(WireFormat.appendEntriesLength(7, 7000) <= one.maxMessageLength());
        sendUntilSent(one, fits);
        awaitMessage(two, fits);
        assertEquals(RaftNetwork.NOT_CONNECTED, one.send(new TimeoutNow(1, 1, 1)), "no publication to itself");
    }

    @Test
    void invokerModeRunsAeronWithoutAThreadOfItsOwn()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2);
        final Set<String> before = aeronThreads();
        final AeronRaftNetwork shared = network(1, endpoints, 64 * 1024);
        assertFalse(difference(aeronThreads(), before).isEmpty(), "the default mode runs driver and client threads");
        shared.close();
        awaitTrue(() -> aeronThreads().equals(before), "threads of the closed network end: " + aeronThreads());

        final AeronRaftNetwork one = track(new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(1).clusterId(CLUSTER).endpoints(endpoints).termLength(64 * 1024).invoker(true)));
        final AeronRaftNetwork two = track(new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(2).clusterId(CLUSTER).endpoints(endpoints).termLength(64 * 1024).invoker(true)));
        assertEquals(Set.of(), difference(aeronThreads(), before), "threads started in invoker mode");
        awaitTrue(() ->
        {
            // Both drivers must run for the publication to connect: nothing else runs them.
            one.doWork();
            two.doWork();
            return one.send(new TimeoutNow(1, 2, 8)) == RaftNetwork.SENT;
        }, "send in invoker mode");
        final List<RaftMessage> received = new ArrayList<>();
        awaitTrue(() ->
        {
            // A node runs its network's duty cycle before each poll: only that brings messages in.
            one.doWork();
            two.doWork();
            one.poll(m -> received.add(m.copy()), 10);
            two.poll(m -> received.add(m.copy()), 10);
            return !received.isEmpty();
        }, "receive in invoker mode");
        assertEquals(List.of(new TimeoutNow(1, 2, 8)), received);
    }

    /**
     * A node that is not a peer reaches this node with introductions only: delivered up to the rate
     * limit and counted apart; the rest, and every other frame of it, are dropped and counted.
     */
    @Test
    void introductionsFromANonMemberAreDeliveredRateLimitedAndCounted()
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 9);
        final AeronRaftNetwork one = network(1, Map.of(1L, endpoints.get(1L), 2L, endpoints.get(2L)), 64 * 1024);
        final AeronRaftNetwork stranger = network(9, Map.of(9L, endpoints.get(9L), 1L, endpoints.get(1L)), 64 * 1024);
        one.onMembershipChanged(Membership.of(1, 2));
        awaitTrue(() ->
        {
            stranger.send(new TimeoutNow(9, 1, 3));
            one.poll(m -> fail("a non-member's TimeoutNow was delivered: " + m), 100);
            return one.counters().dropped(DropReason.UNKNOWN_SENDER) > 0;
        }, "a non-member's other frames are dropped as UNKNOWN_SENDER");

        final int burst = 4 * AeronRaftNetwork.STRANGER_INTRODUCTIONS_PER_SECOND;
        final Introduce introduce = new Introduce(9, 1, 3, endpoints.get(9L));
        final long start = System.nanoTime();
        for (int i = 0; i < burst; i++)
        {
            sendUntilSent(stranger, introduce);
        }
        final List<RaftMessage> delivered = new ArrayList<>();
        awaitTrue(() ->
        {
            one.poll(delivered::add, 100);
            return delivered.size() + one.counters().dropped(DropReason.INTRODUCTION_LIMITED) == burst;
        }, "every introduction delivered or dropped");
        final long seconds = 1 + (System.nanoTime() - start) / 1_000_000_000L;
        assertTrue(delivered.stream().allMatch(introduce::equals), "delivered as sent: " + delivered);
        assertEquals(delivered.size(), one.counters().introductionsFromNonMembers(), "counted apart");
        assertTrue(!delivered.isEmpty() && delivered.size() <= seconds * AeronRaftNetwork.STRANGER_INTRODUCTIONS_PER_SECOND,
            delivered.size() + " delivered in " + seconds + " s");
        assertTrue(one.counters().dropped(DropReason.INTRODUCTION_LIMITED) > 0 || seconds > 4, "the limit refused some");
    }

    private static Set<String> aeronThreads()
    {
        final Set<String> names = new TreeSet<>();
        for (final Thread thread : Thread.getAllStackTraces().keySet())
        {
            final String name = thread.getName().toLowerCase(java.util.Locale.ROOT);
            if (thread.isAlive() && (name.contains("aeron") || name.contains("conductor") || name.contains("sender") ||
                name.contains("receiver")))
            {
                names.add(thread.getName() + "#" + thread.getId());
            }
        }
        return names;
    }

    private static Set<String> difference(final Set<String> after, final Set<String> before)
    {
        final Set<String> added = new TreeSet<>(after);
        added.removeAll(before);
        return added;
    }

    /**
     * Junk and valid frames over a real UDP publication into a live node: every valid frame is
     * delivered in order, every junk frame is dropped and counted under the reason the decoder
     * gives it offline, and the node's counters on the driver's CnC file say the same.
     */
    @Test
    void junkOnTheWireIsDroppedAndCountedWhileValidMessagesFlow()
    {
        final long seed = System.nanoTime();
        final Random random = new Random(seed);
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        final AeronRaftNetwork one = network(1, endpoints, 256 * 1024);
        final AeronRaftNetwork two = network(2, endpoints, 256 * 1024);
        final int max = two.maxMessageLength();

        // The intruder writes raw frames, through node 2's driver, over UDP to node 2's endpoint.
        final Aeron intruder = track(Aeron.connect(new Aeron.Context().aeronDirectoryName(two.aeronDirectoryName())));
        final ExclusivePublication raw = track(intruder.addExclusivePublication(
            new ChannelUriStringBuilder().media("udp").endpoint(endpoints.get(2L)).termLength(256 * 1024).build(),
            two.config().streamId()));

        final WireEncoder encoder = new WireEncoder(CLUSTER, max);
        // Like node 2's network, it delivers introductions from non-members (only a bit flip makes one here: few, under the rate limit).
        final WireDecoder reference = new WireDecoder(CLUSTER, 2, id -> id == 1 || id == 3, max, null, null, null, id -> true);
        final RandomMessages messages = new RandomMessages(random);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[max]);
        final Map<DropReason, Long> expectedDrops = new EnumMap<>(DropReason.class);
        final List<RaftMessage> expectedDelivered = new ArrayList<>();
        final List<RaftMessage> delivered = new ArrayList<>();
        final int frames = 20_000;

        final long deadline = System.nanoTime() + TIMEOUT.toNanos();
        for (int i = 0; i < frames; i++)
        {
            final int length = junkOrValid(random, messages, encoder, frame, max);
            final RaftMessage decoded = reference.decode(frame, 0, length);
            if (decoded == null)
            {
                expectedDrops.merge(reference.lastDropReason(), 1L, Long::sum);
            }
            else
            {
                expectedDelivered.add(decoded.copy());
            }
            long result;
            while ((result = raw.offer(frame, 0, length)) < 0)
            {
                assertTrue(result == Publication.BACK_PRESSURED || result == Publication.NOT_CONNECTED ||
                    result == Publication.ADMIN_ACTION, "offer result " + result);
                if (two.poll(m -> delivered.add(m.copy()), 100) == 0)
                {
                    LockSupport.parkNanos(100_000);
                }
                if (System.nanoTime() > deadline)
                {
                    fail("intruder stuck at frame " + i + " with offer result " + result + " (seed " + seed + ")");
                }
            }
        }
        final long expectedDropTotal = expectedDrops.values().stream().mapToLong(Long::longValue).sum();
        awaitTrue(() ->
        {
            two.poll(m -> delivered.add(m.copy()), 1000);
            return delivered.size() >= expectedDelivered.size() && two.counters().droppedTotal() >= expectedDropTotal;
        }, "all frames accounted for (seed " + seed + ")");

        assertTrue(expectedDropTotal > frames / 2, "mostly junk: " + expectedDrops);
        assertTrue(expectedDelivered.size() > frames / 10, "some valid: " + expectedDelivered.size());
        assertEquals(expectedDelivered.size(), delivered.size(), "delivered (seed " + seed + ")");
        for (int i = 0; i < delivered.size(); i++)
        {
            RaftNetworkConformance.assertSameMessage(expectedDelivered.get(i), delivered.get(i));
        }
        for (final DropReason reason : DropReason.values())
        {
            assertEquals(expectedDrops.getOrDefault(reason, 0L), two.counters().dropped(reason), reason + " (seed " + seed + ")");
        }
        assertEquals(expectedDelivered.size(), two.counters().received());

        // The same numbers are on the driver's counters file, where Aeron tooling reads them.
        final Map<String, Long> cnc = new java.util.HashMap<>();
        intruder.countersReader().forEach((counterId, typeId, keyBuffer, label) ->
        {
            if (typeId == TransportCounters.TYPE_ID)
            {
                cnc.put(label, intruder.countersReader().getCounterValue(counterId));
            }
        });
        assertEquals(two.counters().dropped(DropReason.BAD_MAGIC), cnc.get("ringraft transport node=2 frames dropped BAD_MAGIC"), cnc.toString());
        assertEquals(two.counters().received(), cnc.get("ringraft transport node=2 messages received"), cnc.toString());

        // And the node still talks to its real peer.
        sendUntilSent(one, new TimeoutNow(1, 2, 99));
        awaitMessage(two, new TimeoutNow(1, 2, 99));
    }

    static int junkOrValid(
        final Random random, final RandomMessages messages, final WireEncoder encoder, final UnsafeBuffer frame, final int max)
    {
        final int length = encoder.encode(messages.next(random.nextBoolean() ? 1 : 3, 2), frame, 0);
        switch (random.nextInt(8))
        {
            case 0:
                return length;
            case 1:
                return 1 + random.nextInt(length - 1);
            case 2:
                frame.putByte(2, (byte)(2 + random.nextInt(200)));
                return length;
            case 3:
                frame.putInt(12, CLUSTER + 1, ByteOrder.LITTLE_ENDIAN);
                return length;
            case 4:
                frame.putLong(16, 4 + random.nextInt(1000), ByteOrder.LITTLE_ENDIAN);
                if (frame.getByte(3) == WireFormat.TYPE_INTRODUCE)
                {
                    frame.putByte(3, (byte)WireFormat.TYPE_TIMEOUT_NOW); // a stranger's frame that is not an introduction
                }
                return length;
            case 5:
            {
                final int bit = random.nextInt(length * 8);
                frame.putByte(bit >>> 3, (byte)(frame.getByte(bit >>> 3) ^ (1 << (bit & 7))));
                return length;
            }
            case 6:
                frame.putLong(24, 3, ByteOrder.LITTLE_ENDIAN);
                return length;
            default:
            {
                final int junk = 1 + random.nextInt(Math.min(max, 600));
                for (int i = 0; i < junk; i++)
                {
                    frame.putByte(i, (byte)random.nextInt());
                }
                return junk;
            }
        }
    }

    private static AppendEntriesRequest bigAppend()
    {
        final List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 5; i++)
        {
            final byte[] payload = new byte[1000];
            new Random(i).nextBytes(payload);
            entries.add(new Entry(1, 1 + i, EntryType.NORMAL, payload));
        }
        return new AppendEntriesRequest(1, 2, 1, LogId.ZERO, 0, 1, entries);
    }

    private static void sendUntilSent(final RaftNetwork network, final RaftMessage message)
    {
        awaitTrue(() -> network.send(message) == RaftNetwork.SENT, "send " + message);
    }

    private static void awaitMessage(final RaftNetwork network, final RaftMessage expected)
    {
        final List<RaftMessage> received = new ArrayList<>();
        awaitTrue(() ->
        {
            network.poll(m -> received.add(m.copy()), 100);
            return received.stream().anyMatch(m -> RaftNetworkConformance.sameMessage(expected, m));
        }, "receive " + expected + "; got " + received);
    }

    private static void awaitTrue(final BooleanSupplier condition, final String what)
    {
        final long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                fail("timed out after " + TIMEOUT + ": " + what);
            }
            LockSupport.parkNanos(Duration.ofMillis(1).toNanos());
        }
    }
}
