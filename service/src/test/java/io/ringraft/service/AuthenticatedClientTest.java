package io.ringraft.service;

import io.ringraft.transport.aeron.FreePorts;
import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.ringraft.client.ClientException;
import io.ringraft.client.ClientProtocol;
import io.ringraft.client.CommandResult;
import io.ringraft.client.Outcome;
import io.ringraft.client.RingraftClient;
import io.ringraft.service.example.CounterService;
import io.ringraft.transport.aeron.ClientAuth;
import io.ringraft.transport.aeron.ClientCredentials;
import io.ringraft.transport.aeron.KeyRing;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Client authentication end to end on a 3-node service cluster: clients without a signature, with
 * the wrong key or an id the nodes do not list never get a session; a replayed request and a
 * request for another client's session are dropped; forged, unsigned and replayed answers are
 * dropped by the client; an authenticated flood keeps the ingress bounded; and a legitimate
 * client is served throughout, each drop counted under its reason.
 */
final class AuthenticatedClientTest
{
    private static final String KEY_LEGIT = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    private static final String KEY_OTHER = "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";
    private static final int MAX_SESSIONS = 32;
    private static final int MAX_OPENS = 8;

    @Test
    void onlyAuthenticClientsAndAnswersGetThroughAndTheLegitimateClientIsServed() throws Exception
    {
        final Path dir = Files.createTempDirectory("ringraft-auth-test");
        final Path credentials = write(dir, "credentials", "client.17.key.1 = " + KEY_LEGIT + "\nclient.42.key.1 = " + KEY_OTHER + "\n");
        final Path legitKey = write(dir, "legit.key", "key.1 = " + KEY_LEGIT + "\n");
        final Path otherKey = write(dir, "other.key", "key.1 = " + KEY_OTHER + "\n");
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.clientCredentialsFile(credentials).requireClientAuth(true)
            .maxSessions(MAX_SESSIONS).maxPendingOpens(MAX_OPENS));
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(cluster.driver.aeronDirectoryName())))
        {
            final long leaderId = cluster.awaitLeader(10_000);
            final ServiceNode leader = cluster.nodes.get(leaderId);
            final IngressCounters counters = leader.ingressCounters();
            final List<String> leaderOnly = List.of(cluster.clientEndpoints.get(leaderId));

            // Refused clients: no session is ever opened for them, and the leader counts why.
            final ClientException unsigned = assertThrows(ClientException.class, () -> connect(leaderOnly, 0, null));
            assertTrue(unsigned.getMessage().contains("no leader opened a session"), unsigned.getMessage());
            assertTrue(counters.authDropped(ClientAuth.UNAUTHENTICATED) > 0, counters.toString());
            assertThrows(ClientException.class, () -> connect(leaderOnly, 17, otherKey));
            assertTrue(counters.authDropped(ClientAuth.BAD_MAC) > 0, counters.toString());
            assertThrows(ClientException.class, () -> connect(leaderOnly, 99, legitKey));
            assertTrue(counters.authDropped(ClientAuth.UNKNOWN_CLIENT) > 0, counters.toString());
            assertEquals(0, leader.sessionCount(), "no refused client got a session");
            assertEquals(0, counters.get(IngressCounters.OPEN_REFUSED), "nor a publication: " + counters);

            try (RingraftClient legit = connect(cluster.endpoints(), 17, legitKey);
                ExclusivePublication toLeader = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp")
                    .endpoint(cluster.clientEndpoints.get(leaderId)).termLength(256 * 1024).build(), ClientProtocol.STREAM_ID);
                ExclusivePublication toLegit = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp")
                    .endpoint(legit.responseEndpoint()).termLength(256 * 1024).build(), ClientProtocol.STREAM_ID))
            {
                long expected = increment(legit, 1, 0);

                // Client 42 is authentic, with a session of its own; its replayed request is dropped, and so is
                // its request for client 17's session.
                final String otherReply = "127.0.0.1:" + FreePorts.udpPort();
                try (Subscription replies = aeron.addSubscription("aeron:udp?endpoint=" + otherReply, ClientProtocol.STREAM_ID))
                {
                    final SignedRawClient other = new SignedRawClient(42, otherKey, toLeader, replies);
                    final long session = other.open(otherReply);
                    assertEquals(2, leader.sessionCount(), "client 42 opened a session");
                    assertEquals(ClientProtocol.OK, other.command(session, 1, CounterService.command(CounterService.INCREMENT, 100, 0)));
                    expected += 100;
                    other.resend(); // the captured frame, again
                    awaitAtLeast(() -> counters.authDropped(ClientAuth.REPLAYED), 1);
                    other.command(legit.sessionId(), 1_000, CounterService.command(CounterService.INCREMENT, 1_000_000, 0), false);
                    awaitAtLeast(() -> counters.get(IngressCounters.WRONG_CLIENT), 1);
                }
                expected = increment(legit, 1, expected);

                // Forged answers to the legitimate client, for each command it has in flight: unsigned, signed
                // with another key (as if by the leader), and a genuine-looking one replayed. Each would end
                // the session (UNKNOWN_SESSION) if the client took it.
                final ClientAuth forger = ClientAuth.node("forger", leaderId, ClientCredentials.watch(
                    write(dir, "forger", "client.17.key.1 = " + KEY_OTHER + "\n")), true, line -> { });
                final ClientAuth insider = ClientAuth.node("insider", leaderId, ClientCredentials.watch(credentials), true, line -> { });
                final ClientAuth.ReplyStream forgedStream = forger.newStream(17);
                forgedStream.keyId(1);
                final ClientAuth.ReplyStream insiderStream = insider.newStream(17);
                insiderStream.keyId(1);
                final UnsafeBuffer forged = new UnsafeBuffer(new byte[256]);
                final long refusedBefore = legit.refusedResponses();
                final long[] ok = new long[1];
                legit.responseHandler((seq, outcome, dup, index, b, o, l) -> ok[0] += outcome == Outcome.OK ? 1 : 0);
                final UnsafeBuffer command = new UnsafeBuffer(CounterService.command(CounterService.INCREMENT, 1, 0));
                int forgedSent = 0;
                for (int i = 0; i < 30; i++)
                {
                    final long seq = legit.offer(command, 0, command.capacity());
                    assertTrue(seq > 0, "offered: " + seq);
                    forge(toLegit, forged, legit.sessionId(), seq, null, null);
                    forge(toLegit, forged, legit.sessionId(), seq, forger, forgedStream);
                    forgedSent += 2;
                    while (ok[0] < i + 1)
                    {
                        assertFalse(legit.isSessionClosed(), "a forged answer closed the session");
                        legit.poll();
                        LockSupport.parkNanos(100_000);
                    }
                }
                expected += 30;
                // A genuine answer (signed with client 17's key by a holder of it) for a sequence long resolved, twice:
                // the client takes the first (and ignores it: nothing is in flight under it) and drops the replay.
                final int replayLength = forge(toLegit, forged, legit.sessionId(), 1, insider, insiderStream);
                final byte[] captured = new byte[replayLength];
                forged.getBytes(0, captured);
                offer(toLegit, new UnsafeBuffer(captured), replayLength);
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (legit.refusedResponses() < refusedBefore + forgedSent + 1 && System.nanoTime() < deadline)
                {
                    legit.poll();
                    LockSupport.parkNanos(100_000);
                }
                assertEquals(refusedBefore + forgedSent + 1, legit.refusedResponses(), "every forged and replayed answer was dropped");
                assertFalse(legit.isSessionClosed());
                legit.responseHandler(null);

                // An authenticated flood: client 42 opens from bogus endpoints and names fresh session ids; unsigned
                // and randomly signed junk besides. The ingress stays within its caps; the legitimate client is served.
                final SignedRawClient flooder = new SignedRawClient(42, otherKey, toLeader, null);
                final Random random = new Random(5);
                final UnsafeBuffer junk = new UnsafeBuffer(new byte[256]);
                int maxPublications = 0;
                int maxSessions = 0;
                int sent = 0;
                int served = 0;
                final long floodUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (System.nanoTime() < floodUntil)
                {
                    for (int i = 0; i < 40; i++)
                    {
                        switch (random.nextInt(4))
                        {
                            case 0:
                                sent += flooder.sendOpen("127.0.0.1:" + (20_000 + random.nextInt(20_000)), random.nextLong()) ? 1 : 0;
                                break;
                            case 1:
                                sent += flooder.command(random.nextLong(), 1, new byte[9], false) == -1 ? 1 : 0;
                                break;
                            case 2:
                                random.nextBytes(junk.byteArray());
                                junk.putByte(3, (byte)(junk.getByte(3) | ClientProtocol.FLAG_SIGNED));
                                sent += toLeader.offer(junk, 0, 1 + random.nextInt(junk.capacity())) > 0 ? 1 : 0;
                                break;
                            default:
                                sent += toLeader.offer(junk, 0, SignedRawClient.encodeOpen(junk, random.nextLong(),
                                    "127.0.0.1:" + (20_000 + random.nextInt(20_000)))) > 0 ? 1 : 0;
                                break;
                        }
                    }
                    expected = increment(legit, 1, expected);
                    served++;
                    maxPublications = Math.max(maxPublications, counters.publications());
                    maxSessions = Math.max(maxSessions, leader.sessionCount());
                }
                assertTrue(sent > 500, "the flood sent " + sent + " frames");
                assertTrue(served > 5, "the legitimate client was served " + served + " times");
                assertTrue(maxSessions <= MAX_SESSIONS, "sessions " + maxSessions);
                assertTrue(maxPublications <= MAX_SESSIONS + MAX_OPENS, "publications " + maxPublications + " " + counters);
                assertTrue(counters.authDropped(ClientAuth.UNAUTHENTICATED) > 10, counters.toString());
                System.out.println("authenticated flood: " + sent + " frames, " + served + " legitimate commands served, max publications " +
                    maxPublications + ", max sessions " + maxSessions + "; " + counters);
            }
        }
    }

    @Test
    void optionalAuthenticationServesBothKindsAndKeepsSignedSessionsToTheirClient() throws Exception
    {
        final Path dir = Files.createTempDirectory("ringraft-auth-test");
        final Path credentials = write(dir, "credentials", "client.17.key.1 = " + KEY_LEGIT + "\n");
        final Path legitKey = write(dir, "legit.key", "key.1 = " + KEY_LEGIT + "\n");
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.clientCredentialsFile(credentials));
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(cluster.driver.aeronDirectoryName())))
        {
            final long leaderId = cluster.awaitLeader(10_000);
            final IngressCounters counters = cluster.nodes.get(leaderId).ingressCounters();
            try (RingraftClient signed = connect(cluster.endpoints(), 17, legitKey);
                RingraftClient plain = connect(cluster.endpoints(), 0, null);
                ExclusivePublication toLeader = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp")
                    .endpoint(cluster.clientEndpoints.get(leaderId)).termLength(256 * 1024).build(), ClientProtocol.STREAM_ID))
            {
                long expected = increment(signed, 3, 0);
                expected = increment(plain, 4, expected);
                // An unsigned frame naming the signed client's session: dropped, not applied.
                final UnsafeBuffer frame = new UnsafeBuffer(new byte[128]);
                ClientProtocol.encodeRequestHeader(frame, 0, ClientProtocol.COMMAND, 7, signed.sessionId(), 500, 0);
                final byte[] inc = CounterService.command(CounterService.INCREMENT, 1_000_000, 0);
                frame.putBytes(ClientProtocol.REQUEST_HEADER, inc);
                offer(toLeader, frame, ClientProtocol.REQUEST_HEADER + inc.length);
                awaitAtLeast(() -> counters.get(IngressCounters.WRONG_CLIENT), 1);
                increment(signed, 1, expected);
                assertEquals(0, signed.refusedResponses() + plain.refusedResponses());
            }
        }
    }

    private static RingraftClient connect(final List<String> endpoints, final long clientId, final Path keyFile)
    {
        // A refused client is tried against the leader alone, for 2 s; the others get time to follow an election.
        return RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(7).credentials(clientId, keyFile)
            .connectTimeout(endpoints.size() == 1 ? 2 : 10, TimeUnit.SECONDS).commandTimeout(20, TimeUnit.SECONDS));
    }

    /** Increments the counter by {@code by} and checks the total: every increment applied once, nothing foreign applied. */
    private static long increment(final RingraftClient client, final long by, final long before)
    {
        final CommandResult result = client.execute(CounterService.command(CounterService.INCREMENT, by, 0));
        assertEquals(Outcome.OK, result.outcome(), result.toString());
        assertEquals(before + by, new UnsafeBuffer(result.response()).getLong(0), "the counter");
        return before + by;
    }

    /**
     * Sends an UNKNOWN_SESSION answer for (session, seq) to the client: unsigned, or signed by {@code auth} on {@code stream}.
     *
     * @return the frame's length
     */
    private static int forge(final ExclusivePublication to, final UnsafeBuffer frame, final long session, final long seq,
        final ClientAuth auth, final ClientAuth.ReplyStream stream)
    {
        int length = ClientProtocol.encodeResponseHeader(frame, 0, ClientProtocol.COMMAND, 7, session, seq,
            ClientProtocol.UNKNOWN_SESSION, 0, 0, 0, -1, 0);
        if (auth != null)
        {
            ClientProtocol.markSigned(frame, 0);
            length += auth.sign(frame, 0, length, stream);
        }
        offer(to, frame, length);
        return length;
    }

    private static boolean offer(final ExclusivePublication publication, final UnsafeBuffer buffer, final int length)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (publication.offer(buffer, 0, length) < 0)
        {
            assertTrue(System.nanoTime() < deadline, "could not send");
            LockSupport.parkNanos(1_000_000);
        }
        return true;
    }

    private static Path write(final Path dir, final String name, final String text) throws Exception
    {
        final Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private static void awaitAtLeast(final LongSupplier value, final long expected)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsLong() < expected)
        {
            assertTrue(System.nanoTime() < deadline, "counter at " + value.getAsLong() + ", expected " + expected);
            LockSupport.parkNanos(1_000_000);
        }
    }

    /** A hand-driven signing client: one frame, one answer; the last frame it sent can be sent again. */
    private static final class SignedRawClient
    {
        final ClientAuth auth;
        final ExclusivePublication publication;
        final Subscription subscription;
        final ClientProtocol.Response response = new ClientProtocol.Response();
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[1024]);
        int lastLength;
        boolean got;

        SignedRawClient(final long clientId, final Path keyFile, final ExclusivePublication publication, final Subscription subscription)
        {
            this.auth = ClientAuth.client("raw client " + clientId, clientId, KeyRing.load(keyFile), line -> { });
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

        boolean sendOpen(final String endpoint, final long nonce)
        {
            return sign(encodeOpen(frame, nonce, endpoint)) && send(false) == -1;
        }

        long open(final String endpoint)
        {
            sign(encodeOpen(frame, 77, endpoint));
            assertEquals(ClientProtocol.OK, send(true));
            return response.value;
        }

        int command(final long session, final long seq, final byte[] command)
        {
            return command(session, seq, command, true);
        }

        int command(final long session, final long seq, final byte[] command, final boolean await)
        {
            ClientProtocol.encodeRequestHeader(frame, 0, ClientProtocol.COMMAND, 7, session, seq, 0);
            frame.putBytes(ClientProtocol.REQUEST_HEADER, command);
            sign(ClientProtocol.REQUEST_HEADER + command.length);
            return send(await);
        }

        void resend()
        {
            send(false);
        }

        private boolean sign(final int length)
        {
            ClientProtocol.markSigned(frame, 0);
            lastLength = length + auth.sign(frame, 0, length);
            return true;
        }

        /** @return the answer's status, or -1 without waiting */
        private int send(final boolean await)
        {
            offer(publication, frame, lastLength);
            if (!await)
            {
                return -1;
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            got = false;
            while (!got)
            {
                if (subscription.poll((b, o, l, h) ->
                {
                    final int content = auth.admit(b, o, l, ClientProtocol.isSigned(b, o, l));
                    assertTrue(content > 0, auth.toString());
                    assertTrue(response.decode(b, o, content));
                    got = true;
                }, 1) == 0)
                {
                    assertTrue(System.nanoTime() < deadline, "no answer");
                    LockSupport.parkNanos(1_000_000);
                }
            }
            return response.status;
        }
    }
}
