package io.ringraft.testkit.conformance;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import io.ringraft.storage.SnapshotMeta;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The behaviour every {@link RaftNetwork} must show on a healthy network: extend it, implement
 * {@link #connect(long...)} and {@link #assertReleased}, and JUnit runs the checks.
 * <p>
 * What it checks: every message type arrives equal to what was sent; a send to a node that has no
 * endpoint returns {@link RaftNetwork#NOT_CONNECTED}; a send of a message whose {@code from()} is
 * not the sending node throws {@link IllegalArgumentException}; {@code poll} never delivers more
 * than its limit and returns the number it delivered; nothing reaches a node it was not addressed
 * to; a burst far larger than any buffer arrives whole when the sender retries on
 * {@link RaftNetwork#BACK_PRESSURED} and the receiver keeps polling; a large AppendEntries batch
 * arrives whole; a sender may reuse a message as soon as {@code send} returns (the engine and
 * the runtime do); {@code close()} makes sends return {@link RaftNetwork#CLOSED}, polls deliver
 * nothing, is idempotent and releases the endpoint's resources.
 * <p>
 * A delivered message is valid only during {@code onMessage} (transports decode AppendEntries
 * into a reused instance): the suite keeps {@link RaftMessage#copy()}, as any receiver must.
 * <p>
 * Delivery may take time (a real network connects asynchronously): sends are retried while they
 * return {@link RaftNetwork#NOT_CONNECTED} or {@link RaftNetwork#BACK_PRESSURED} and receipt is
 * awaited, both up to {@link #deliveryTimeout()}.
 */
public abstract class RaftNetworkConformance
{
    /** The endpoints of one test's nodes. */
    protected interface Endpoints extends AutoCloseable
    {
        /**
         * @param nodeId one of the nodes given to {@link #connect(long...)}
         * @return its endpoint
         */
        RaftNetwork endpoint(long nodeId);

        /** Closes every endpoint and whatever else the implementation started for them. */
        @Override
        void close();
    }

    private Endpoints endpoints;

    /**
     * @param nodeIds the nodes, each of which can reach every other
     * @return their endpoints
     */
    protected abstract Endpoints connect(long... nodeIds);

    /**
     * Asserts, by whatever evidence the implementation has, that a closed endpoint released its
     * resources (queues, buffers, sockets, driver files).
     *
     * @param endpoints the endpoints of the test
     * @param nodeId    the node whose endpoint was closed
     * @param closed    the closed endpoint
     */
    protected abstract void assertReleased(Endpoints endpoints, long nodeId, RaftNetwork closed);

    /**
     * Called whenever the suite waits: an implementation whose endpoints only make progress when
     * their owner drives them (a duty cycle run by the caller) drives them here. Does nothing by
     * default.
     *
     * @param endpoints the endpoints of the test
     */
    protected void drive(final Endpoints endpoints)
    {
    }

    /** @return the payload bytes of the large AppendEntries batch; at least 64 KiB */
    protected int largeBatchPayloadBytes()
    {
        return 64 * 1024;
    }

    /** @return how long a send may stay not connected or back-pressured, and a message in flight */
    protected Duration deliveryTimeout()
    {
        return Duration.ofSeconds(15);
    }

    @AfterEach
    void closeEndpoints()
    {
        if (endpoints != null)
        {
            endpoints.close();
            endpoints = null;
        }
    }

    private Endpoints open(final long... nodeIds)
    {
        endpoints = connect(nodeIds);
        return endpoints;
    }

    /** @return one message of every type, with every field set to a non-default value */
    public static List<RaftMessage> everyMessageType(final long from, final long to)
    {
        final Membership membership = Membership.of(new long[]{1, 2, 3}, new long[]{2, 3, 4}, new long[]{5},
            Map.of(1L, "127.0.0.1:9001", 5L, "[::1]:9005"));
        final byte[] chunk = new byte[1000];
        new Random(7).nextBytes(chunk);
        return List.of(
            new VoteRequest(from, to, 5, new LogId(4, 17), true, false),
            new VoteRequest(from, to, 6, LogId.ZERO, false, true),
            new VoteResponse(from, to, 5, true, true),
            new VoteResponse(from, to, 6, false, false),
            new AppendEntriesRequest(from, to, 7, new LogId(6, 10), 9, 42, List.of(
                new Entry(6, 11, EntryType.NORMAL, new byte[]{1, 2, 3}),
                Entry.blank(7, 12),
                Entry.membership(7, 13, membership),
                new Entry(7, 14, EntryType.NORMAL, new byte[0]))),
            new AppendEntriesRequest(from, to, 7, new LogId(7, 14), 14, 43, List.of()),
            new AppendEntriesResponse(from, to, 7, true, 14, 0, 0, 43),
            new AppendEntriesResponse(from, to, 7, false, 0, 6, 8, Long.MAX_VALUE),
            new InstallSnapshotRequest(from, to, 8,
                new SnapshotMeta(new LogId(7, 100), membership, "7-100-1", 4096, 0xCAFEBABE), 1024, chunk, false),
            new InstallSnapshotRequest(from, to, 8,
                new SnapshotMeta(new LogId(7, 100), membership, "7-100-1", 4096, -1), 4000, new byte[0], true),
            new InstallSnapshotResponse(from, to, 8, "7-100-1", 2048, false),
            new InstallSnapshotResponse(from, to, 8, "7-100-1", 4096, true),
            new TimeoutNow(from, to, 9),
            new ReadIndexRequest(from, to, 10, 77),
            new ReadIndexResponse(from, to, 10, 77, 120, true, 0),
            new ReadIndexResponse(from, to, 10, 78, 0, false, 3),
            new Introduce(from, to, 11, "127.0.0.1:40123 client=127.0.0.1:40124 \u00e9"));
    }

    @Test
    void everyMessageTypeArrivesEqual()
    {
        final Endpoints net = open(1, 2);
        final List<RaftMessage> sent = everyMessageType(1, 2);
        for (final RaftMessage message : sent)
        {
            sendUntilSent(net.endpoint(1), message);
        }
        final List<RaftMessage> received = receive(net.endpoint(2), sent.size());
        assertSameMessages(sent, received);
        assertNothingMore(net.endpoint(1));
    }

    @Test
    void sendToNodeWithoutEndpointIsNotConnected()
    {
        final Endpoints net = open(1, 2);
        assertEquals(RaftNetwork.NOT_CONNECTED, net.endpoint(1).send(new TimeoutNow(1, 99, 1)));
        assertEquals(RaftNetwork.NOT_CONNECTED, net.endpoint(1).send(new VoteRequest(1, 99, 1, LogId.ZERO, false, false)));
    }

    @Test
    void sendOfAnotherNodesMessageIsRejected()
    {
        final Endpoints net = open(1, 2);
        assertThrows(IllegalArgumentException.class, () -> net.endpoint(1).send(new TimeoutNow(2, 1, 1)));
    }

    @Test
    void pollNeverDeliversMoreThanItsLimit()
    {
        final Endpoints net = open(1, 2);
        final int count = 20;
        for (int i = 0; i < count; i++)
        {
            sendUntilSent(net.endpoint(1), new TimeoutNow(1, 2, i));
        }
        final RaftNetwork receiver = net.endpoint(2);
        final List<RaftMessage> received = new ArrayList<>();
        final long deadline = System.nanoTime() + deliveryTimeout().toNanos();
        assertEquals(0, receiver.poll(m -> received.add(m.copy()), 0), "poll with limit 0");
        assertEquals(0, received.size(), "poll with limit 0 delivered");
        while (received.size() < count && System.nanoTime() < deadline)
        {
            final int before = received.size();
            final int limit = 1 + received.size() % 3;
            final int n = receiver.poll(m -> received.add(m.copy()), limit);
            assertTrue(n <= limit, "poll(limit=" + limit + ") returned " + n);
            assertEquals(n, received.size() - before, "poll's return value is the number delivered");
            if (n == 0)
            {
                idle();
            }
        }
        assertEquals(count, received.size(), "messages received");
        final BitSet terms = new BitSet();
        received.forEach(m -> terms.set((int)m.term()));
        assertEquals(count, terms.cardinality(), "distinct messages received: " + received);
    }

    @Test
    void nothingReachesANodeItWasNotAddressedTo()
    {
        final Endpoints net = open(1, 2, 3);
        sendUntilSent(net.endpoint(1), new TimeoutNow(1, 2, 12));
        sendUntilSent(net.endpoint(1), new TimeoutNow(1, 3, 13));
        sendUntilSent(net.endpoint(2), new TimeoutNow(2, 3, 23));
        assertSameMessages(List.of(new TimeoutNow(1, 2, 12)), receive(net.endpoint(2), 1));
        assertSameMessages(List.of(new TimeoutNow(1, 3, 13), new TimeoutNow(2, 3, 23)), receive(net.endpoint(3), 2));
        assertNothingMore(net.endpoint(1));
        assertNothingMore(net.endpoint(2));
        assertNothingMore(net.endpoint(3));
    }

    @Test
    void burstLargerThanAnyBufferArrivesWholeWhenSenderRetriesAndReceiverPolls()
    {
        final Endpoints net = open(1, 2);
        final RaftNetwork sender = net.endpoint(1);
        final RaftNetwork receiver = net.endpoint(2);
        final int count = 20_000;
        final BitSet seen = new BitSet(count);
        final int[] received = {0};
        final RaftNetwork.MessageHandler handler = m ->
        {
            final AppendEntriesResponse r = assertInstanceOf(AppendEntriesResponse.class, m);
            assertEquals(r.seq(), r.matchIndex(), "message content");
            seen.set((int)r.seq());
            received[0]++;
        };
        final long deadline = System.nanoTime() + deliveryTimeout().toNanos() * 2;
        int next = 0;
        while ((next < count || received[0] < count) && System.nanoTime() < deadline)
        {
            if (next < count)
            {
                final int result = sender.send(new AppendEntriesResponse(1, 2, 3, true, next, 0, 0, next));
                if (result == RaftNetwork.SENT)
                {
                    next++;
                }
                else
                {
                    assertTrue(result == RaftNetwork.BACK_PRESSURED || result == RaftNetwork.NOT_CONNECTED,
                        "send result " + result);
                    if (receiver.poll(handler, 100) == 0)
                    {
                        idle();
                    }
                }
            }
            if (receiver.poll(handler, 100) == 0 && next == count)
            {
                idle();
            }
        }
        assertEquals(count, next, "messages sent");
        assertEquals(count, received[0], "messages received");
        assertEquals(count, seen.cardinality(), "distinct messages received");
    }

    @Test
    void senderMayReuseAMessageOnceSendReturns()
    {
        final Endpoints net = open(1, 2);
        final AppendEntriesRequest request = new AppendEntriesRequest(1, 2, 4, new LogId(4, 9), 8, 1,
            List.of(new Entry(4, 10, EntryType.NORMAL, new byte[] {1, 2, 3})));
        final AppendEntriesResponse response = new AppendEntriesResponse(1, 2, 4, true, 10, 0, 0, 1);
        final List<RaftMessage> expected = new ArrayList<>();
        for (int round = 0; round < 3; round++)
        {
            sendUntilSent(net.endpoint(1), request);
            expected.add(request.copy());
            sendUntilSent(net.endpoint(1), response);
            expected.add(response.copy());
            // Overwrite both in place, as the runtime does with its reused messages.
            request.set(1, 2, 4, 4, 9, 9 + round, 2 + round);
            response.set(1, 2, 4, false, 0, 3, 5 + round, 2 + round);
        }
        assertSameMessages(expected, receive(net.endpoint(2), expected.size()));
    }

    @Test
    void largeAppendBatchArrivesWhole()
    {
        final Endpoints net = open(1, 2);
        final int payloadBytes = largeBatchPayloadBytes();
        final int entrySize = 200;
        final List<Entry> entries = new ArrayList<>();
        final Random random = new Random(42);
        int total = 0;
        for (long index = 1001; total < payloadBytes; index++)
        {
            final byte[] payload = new byte[Math.min(entrySize + random.nextInt(100), payloadBytes - total)];
            random.nextBytes(payload);
            entries.add(new Entry(3, index, EntryType.NORMAL, payload));
            total += payload.length;
        }
        final AppendEntriesRequest batch = new AppendEntriesRequest(1, 2, 3, new LogId(3, 1000), 1000, 7, List.copyOf(entries));
        sendUntilSent(net.endpoint(1), batch);
        final List<RaftMessage> received = receive(net.endpoint(2), 1);
        final AppendEntriesRequest got = assertInstanceOf(AppendEntriesRequest.class, received.get(0));
        assertEquals(entries.size(), got.entries().size(), "entries in the batch");
        assertEquals(batch, got);
    }

    @Test
    void closeMakesSendsClosedAndReleasesResources()
    {
        final Endpoints net = open(1, 2);
        final RaftNetwork closing = net.endpoint(1);
        sendUntilSent(closing, new TimeoutNow(1, 2, 1));
        assertSameMessages(List.of(new TimeoutNow(1, 2, 1)), receive(net.endpoint(2), 1));
        sendUntilSent(net.endpoint(2), new TimeoutNow(2, 1, 2));
        closing.close();
        assertEquals(RaftNetwork.CLOSED, closing.send(new TimeoutNow(1, 2, 3)));
        assertEquals(RaftNetwork.CLOSED, closing.send(new TimeoutNow(1, 99, 3)), "CLOSED comes before any peer check");
        final List<RaftMessage> after = new ArrayList<>();
        assertEquals(0, closing.poll(m -> after.add(m.copy()), 10), "poll after close");
        assertEquals(List.of(), after);
        closing.close();
        assertReleased(net, 1, closing);
    }

    /**
     * Sends until the network accepts the message, retrying while it is not connected or back-pressured.
     *
     * @param network the sender
     * @param message the message
     */
    protected final void sendUntilSent(final RaftNetwork network, final RaftMessage message)
    {
        final long deadline = System.nanoTime() + deliveryTimeout().toNanos();
        int result;
        while ((result = network.send(message)) != RaftNetwork.SENT)
        {
            if (result != RaftNetwork.NOT_CONNECTED && result != RaftNetwork.BACK_PRESSURED)
            {
                fail("send returned " + result + " for " + message);
            }
            if (System.nanoTime() > deadline)
            {
                fail("send still returns " + result + " after " + deliveryTimeout() + " for " + message);
            }
            idle();
        }
    }

    /**
     * Polls until {@code count} messages arrived, failing after {@link #deliveryTimeout()}.
     *
     * @param network the receiver
     * @param count   how many to wait for
     * @return the messages, in arrival order
     */
    protected final List<RaftMessage> receive(final RaftNetwork network, final int count)
    {
        final List<RaftMessage> received = new ArrayList<>();
        final long deadline = System.nanoTime() + deliveryTimeout().toNanos();
        while (received.size() < count && System.nanoTime() < deadline)
        {
            if (network.poll(m -> received.add(m.copy()), count - received.size()) == 0)
            {
                idle();
            }
        }
        assertEquals(count, received.size(), "messages received: " + received);
        return received;
    }

    /**
     * Polls for a while and asserts that nothing arrives.
     *
     * @param network the receiver
     */
    protected final void assertNothingMore(final RaftNetwork network)
    {
        final List<RaftMessage> received = new ArrayList<>();
        final long until = System.nanoTime() + Duration.ofMillis(200).toNanos();
        while (System.nanoTime() < until)
        {
            network.poll(m -> received.add(m.copy()), 100);
            idle();
        }
        assertEquals(List.of(), received, "unexpected messages");
    }

    /**
     * Asserts that two lists hold equal messages, in any order; an InstallSnapshotRequest's chunk
     * is compared by content.
     *
     * @param expected the messages sent
     * @param actual   the messages received
     */
    public static void assertSameMessages(final List<? extends RaftMessage> expected, final List<? extends RaftMessage> actual)
    {
        assertEquals(expected.size(), actual.size(), "message count: expected " + expected + " got " + actual);
        final List<RaftMessage> unmatched = new ArrayList<>(actual);
        for (final RaftMessage e : expected)
        {
            boolean found = false;
            for (int i = 0; i < unmatched.size(); i++)
            {
                if (sameMessage(e, unmatched.get(i)))
                {
                    unmatched.remove(i);
                    found = true;
                    break;
                }
            }
            if (!found)
            {
                fail("not received: " + describe(e) + "; unmatched: " + unmatched);
            }
        }
    }

    /**
     * @return true if the messages are equal, comparing an InstallSnapshotRequest's chunk by content
     */
    public static boolean sameMessage(final RaftMessage expected, final RaftMessage actual)
    {
        if (expected instanceof InstallSnapshotRequest e && actual instanceof InstallSnapshotRequest a)
        {
            return e.from() == a.from() && e.to() == a.to() && e.term() == a.term() && e.meta().equals(a.meta()) &&
                e.offset() == a.offset() && e.done() == a.done() && Arrays.equals(e.chunk(), a.chunk());
        }
        return expected.equals(actual);
    }

    /**
     * Asserts one message equals another, comparing an InstallSnapshotRequest's chunk by content.
     */
    public static void assertSameMessage(final RaftMessage expected, final RaftMessage actual)
    {
        if (expected instanceof InstallSnapshotRequest e && actual instanceof InstallSnapshotRequest a)
        {
            assertEquals(e.meta(), a.meta(), "meta");
            assertArrayEquals(e.chunk(), a.chunk(), "chunk");
        }
        assertTrue(sameMessage(expected, actual), () -> "expected " + describe(expected) + " got " + describe(actual));
    }

    private static String describe(final RaftMessage m)
    {
        if (m instanceof InstallSnapshotRequest r)
        {
            return r + " chunk=" + (r.chunk() == null ? "null" : r.chunk().length + "B");
        }
        return String.valueOf(m);
    }

    private void idle()
    {
        if (endpoints != null)
        {
            drive(endpoints);
        }
        LockSupport.parkNanos(Duration.ofMillis(1).toNanos());
    }
}
