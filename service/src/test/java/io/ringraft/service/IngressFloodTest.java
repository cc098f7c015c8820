package io.ringraft.service;

import io.ringraft.transport.aeron.FreePorts;
import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.ringraft.client.ClientProtocol;
import io.ringraft.client.CommandResult;
import io.ringraft.client.Outcome;
import io.ringraft.client.RingraftClient;
import io.ringraft.service.example.CounterService;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile client frames against a service cluster: malformed, oversized, unknown-session and
 * replayed frames are refused with a status (where the sender has a registered channel) and a
 * counter; a flood of opens from bogus endpoints, new session ids and junk keeps the ingress's
 * publications and sessions within their caps while a legitimate client goes on being served.
 */
final class IngressFloodTest
{
    private static final int MAX_SESSIONS = 32;
    private static final int MAX_OPENS = 8;

    @Test
    void hostileFramesAreRefusedAndCountedAndTheNodeKeepsServing() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.maxSessions(MAX_SESSIONS).maxPendingOpens(MAX_OPENS)
            .sessionTimeout(3, TimeUnit.SECONDS));
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(cluster.driver.aeronDirectoryName())))
        {
            final long leaderId = cluster.awaitLeader(10_000);
            final ServiceNode leader = cluster.nodes.get(leaderId);
            final IngressCounters counters = leader.ingressCounters();
            final String replyEndpoint = "127.0.0.1:" + FreePorts.udpPort();
            try (RingraftClient legit = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .commandTimeout(20, TimeUnit.SECONDS));
                Subscription replies = aeron.addSubscription("aeron:udp?endpoint=" + replyEndpoint, ClientProtocol.STREAM_ID);
                ExclusivePublication toLeader = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp")
                    .endpoint(cluster.clientEndpoints.get(leaderId)).termLength(256 * 1024).build(), ClientProtocol.STREAM_ID))
            {
                final RawClient raw = new RawClient(toLeader, replies);
                final long session = raw.open(replyEndpoint);
                assertTrue(session > 0);

                // A command, then the same sequence again: applied once, the replay answered from the cache.
                final byte[] inc = CounterService.command(CounterService.INCREMENT, 5, 0);
                ClientProtocol.Response r = raw.command(session, 1, 0, inc);
                assertEquals(ClientProtocol.OK, r.status);
                assertEquals(5, raw.payload.getLong(0));
                r = raw.command(session, 1, 0, inc);
                assertEquals(ClientProtocol.OK, r.status);
                assertEquals(ClientProtocol.FLAG_DUPLICATE, r.flags & ClientProtocol.FLAG_DUPLICATE, "a replay is answered from the cache");
                assertEquals(5, raw.payload.getLong(0), "and not applied again");
                // Below the acknowledged floor: refused, never applied.
                r = raw.command(session, 2, 5, inc);
                assertEquals(ClientProtocol.STALE, r.status);

                // Malformed frames of a registered session: BAD_REQUEST on its channel, counted.
                final long malformedBefore = counters.get(IngressCounters.MALFORMED);
                final UnsafeBuffer junk = new UnsafeBuffer(new byte[64]);
                ClientProtocol.encodeRequestHeader(junk, 0, (byte)42, 7, session, 9, 0);
                r = raw.send(junk, ClientProtocol.REQUEST_HEADER, true);
                assertEquals(ClientProtocol.BAD_REQUEST, r.status);
                assertEquals("unknown request type 42", raw.text());
                assertEquals(malformedBefore + 1, counters.get(IngressCounters.MALFORMED));

                // Oversized: BAD_REQUEST naming the limit, counted.
                final UnsafeBuffer big = new UnsafeBuffer(new byte[leader.context().maxRequestLength() + 100]);
                ClientProtocol.encodeRequestHeader(big, 0, ClientProtocol.COMMAND, 7, session, 3, 1);
                r = raw.send(big, big.capacity(), true);
                assertEquals(ClientProtocol.BAD_REQUEST, r.status);
                assertTrue(raw.text().contains("exceeds maxCommandLength=" + leader.context().maxCommandLength()), raw.text());
                assertEquals(1, counters.get(IngressCounters.OVERSIZED));

                // Unknown sessions have no channel: dropped and counted, nothing applied.
                final long unknownBefore = counters.get(IngressCounters.UNKNOWN_SESSION);
                for (int i = 0; i < 50; i++)
                {
                    raw.command(session + 1_000_000 + i, 1, 0, inc, false);
                }
                awaitAtLeast(() -> counters.get(IngressCounters.UNKNOWN_SESSION), unknownBefore + 50);

                // The flood: opens from bogus endpoints, fresh session ids, truncated frames and random bytes,
                // while the legitimate client keeps incrementing.
                final Random random = new Random(11);
                final List<CommandResult> legitResults = new ArrayList<>();
                int maxPublications = 0;
                int maxSessions = 0;
                final long floodUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
                int sent = 0;
                while (System.nanoTime() < floodUntil)
                {
                    for (int i = 0; i < 50; i++)
                    {
                        final UnsafeBuffer frame = new UnsafeBuffer(new byte[256]);
                        final int length;
                        switch (random.nextInt(4))
                        {
                            case 0:
                                length = RawClient.encodeOpen(frame, random.nextLong(), "127.0.0.1:" + (20_000 + random.nextInt(20_000)));
                                break;
                            case 1:
                                ClientProtocol.encodeRequestHeader(frame, 0, ClientProtocol.COMMAND, 7, random.nextLong(), 1, 0);
                                length = ClientProtocol.REQUEST_HEADER + 9;
                                break;
                            case 2:
                                ClientProtocol.encodeRequestHeader(frame, 0, ClientProtocol.OPEN, 7, 0, 1, 0);
                                length = 1 + random.nextInt(ClientProtocol.REQUEST_HEADER + 1);
                                break;
                            default:
                                random.nextBytes(frame.byteArray());
                                length = 1 + random.nextInt(frame.capacity());
                                break;
                        }
                        if (toLeader.offer(frame, 0, length) > 0)
                        {
                            sent++;
                        }
                    }
                    final CommandResult result = legit.execute(CounterService.command(CounterService.INCREMENT, 1, 0));
                    legitResults.add(result);
                    maxPublications = Math.max(maxPublications, counters.publications());
                    maxSessions = Math.max(maxSessions, sessionCount(leader));
                }
                assertTrue(sent > 1000, "the flood sent " + sent + " frames");
                assertTrue(legitResults.size() > 10, "the legitimate client was served " + legitResults.size() + " times");
                for (final CommandResult result : legitResults)
                {
                    assertEquals(Outcome.OK, result.outcome(), result.toString());
                }
                assertTrue(maxSessions <= MAX_SESSIONS, "sessions " + maxSessions);
                assertTrue(maxPublications <= MAX_SESSIONS + MAX_OPENS, "publications " + maxPublications + " " + counters);
                assertTrue(counters.get(IngressCounters.OPEN_REFUSED) + counters.get(IngressCounters.SESSION_LIMIT) > 0, counters.toString());
                assertTrue(counters.get(IngressCounters.MALFORMED) > malformedBefore + 10, counters.toString());
                final CommandResult last = legitResults.get(legitResults.size() - 1);
                assertEquals(5 + legitResults.size(), new UnsafeBuffer(last.response()).getLong(0), "every increment applied once");
                System.out.println("flood: " + sent + " frames, " + legitResults.size() + " legitimate commands served, max publications " +
                    maxPublications + ", max sessions " + maxSessions + "; " + counters);
            }
        }
    }

    private static int sessionCount(final ServiceNode node)
    {
        return node.sessionCount();
    }

    private static void awaitAtLeast(final java.util.function.LongSupplier value, final long expected)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsLong() < expected)
        {
            assertTrue(System.nanoTime() < deadline, "counter at " + value.getAsLong() + ", expected " + expected);
            LockSupport.parkNanos(1_000_000);
        }
    }

    /** A hand-driven client: one frame, one answer. */
    private static final class RawClient
    {
        final ExclusivePublication publication;
        final Subscription subscription;
        final ClientProtocol.Response response = new ClientProtocol.Response();
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[1024]);
        UnsafeBuffer payload;
        boolean got;

        RawClient(final ExclusivePublication publication, final Subscription subscription)
        {
            this.publication = publication;
            this.subscription = subscription;
        }

        static int encodeOpen(final UnsafeBuffer buffer, final long nonce, final String endpoint)
        {
            ClientProtocol.encodeRequestHeader(buffer, 0, ClientProtocol.OPEN, 7, 0, nonce, 0);
            final byte[] e = endpoint.getBytes(StandardCharsets.UTF_8);
            buffer.putShort(ClientProtocol.REQUEST_HEADER, (short)e.length);
            buffer.putBytes(ClientProtocol.REQUEST_HEADER + 2, e);
            return ClientProtocol.REQUEST_HEADER + 2 + e.length;
        }

        long open(final String endpoint)
        {
            final ClientProtocol.Response r = send(frame, encodeOpen(frame, 77, endpoint), true);
            assertEquals(ClientProtocol.OK, r.status);
            return r.value;
        }

        ClientProtocol.Response command(final long session, final long seq, final long floor, final byte[] command)
        {
            return command(session, seq, floor, command, true);
        }

        ClientProtocol.Response command(final long session, final long seq, final long floor, final byte[] command, final boolean await)
        {
            ClientProtocol.encodeRequestHeader(frame, 0, ClientProtocol.COMMAND, 7, session, seq, floor);
            frame.putBytes(ClientProtocol.REQUEST_HEADER, command);
            return send(frame, ClientProtocol.REQUEST_HEADER + command.length, await);
        }

        ClientProtocol.Response send(final UnsafeBuffer buffer, final int length, final boolean await)
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (publication.offer(buffer, 0, length) < 0)
            {
                assertTrue(System.nanoTime() < deadline, "could not send");
                LockSupport.parkNanos(1_000_000);
            }
            if (!await)
            {
                return null;
            }
            got = false;
            while (!got)
            {
                if (subscription.poll((b, o, l, h) ->
                {
                    assertTrue(response.decode(b, o, l));
                    final byte[] bytes = new byte[response.payloadLength];
                    b.getBytes(response.payloadOffset, bytes);
                    payload = new UnsafeBuffer(bytes);
                    got = true;
                }, 1) == 0)
                {
                    assertTrue(System.nanoTime() < deadline, "no answer");
                    LockSupport.parkNanos(1_000_000);
                }
            }
            assertNotNull(payload);
            return response;
        }

        String text()
        {
            return payload.getStringWithoutLengthUtf8(0, payload.capacity());
        }
    }
}
