package io.ringraft.transport.aeron;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-client credentials: the credentials file, signed requests and answers, replays, rotation, the replay guard's epochs. */
class ClientAuthTest
{
    private static final String KEY_A = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    private static final String KEY_B = "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";
    private static final String KEY_C = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

    @TempDir
    Path dir;

    private final List<String> lines = new ArrayList<>();
    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[1024]);

    private Path file(final String text) throws Exception
    {
        final Path file = Files.createTempFile(dir, "auth", ".conf");
        Files.writeString(file, text);
        return file;
    }

    private WatchedFile<ClientCredentials> credentials(final String text) throws Exception
    {
        return ClientCredentials.watch(file(text));
    }

    private ClientAuth client(final long id, final String keyFile) throws Exception
    {
        return ClientAuth.client("client " + id, id, KeyRing.load(file(keyFile)), lines::add);
    }

    private ClientAuth node(final WatchedFile<ClientCredentials> credentials, final boolean required)
    {
        return ClientAuth.node("node 1 ingress", 1, credentials, required, lines::add);
    }

    /** A request of {@code length} bytes of content, signed by {@code client} if given; returns the frame length. */
    private int request(final ClientAuth client, final int length, final byte fill)
    {
        frame.setMemory(0, length, fill);
        return length + (client == null ? 0 : client.sign(frame, 0, length));
    }

    @Test
    void aListedClientIsLetInAndAnsweredWithItsKey() throws Exception
    {
        final ClientAuth node = node(credentials("client.17.key.1 = " + KEY_A + "\nclient.42.key.1 = " + KEY_B + "\n"), true);
        final ClientAuth client = client(17, "key.1 = " + KEY_A + "\n");
        final int length = request(client, 100, (byte)7);
        assertEquals(100, node.admit(frame, 0, length, true));
        assertEquals(17, node.principal());
        assertEquals(1, node.keyId());

        final ClientAuth.ReplyStream stream = node.newStream(node.principal());
        frame.setMemory(0, 60, (byte)9);
        final int answer = 60 + node.sign(frame, 0, 60, stream);
        assertEquals(60 + ClientAuth.OVERHEAD, answer);
        assertEquals(60, client.admit(frame, 0, answer, true));
        assertEquals(1, client.principal(), "an answer names the node");
        assertEquals(-1, client.admit(frame, 0, answer, true), "an answer replayed");
        assertEquals(1, client.dropped(ClientAuth.REPLAYED));

        final ClientAuth other = client(42, "key.1 = " + KEY_B + "\n");
        frame.setMemory(0, 60, (byte)9);
        final int forOther = 60 + node.sign(frame, 0, 60, node.newStream(17));
        assertEquals(-1, other.admit(frame, 0, forOther, true), "an answer to client 17 is not one to client 42");
        assertEquals(1, other.dropped(ClientAuth.BAD_MAC));
        assertEquals(-1, client.admit(frame, 0, 60, false), "a client refuses unsigned answers");
        assertEquals(1, client.dropped(ClientAuth.UNAUTHENTICATED));
        assertEquals(0, node.dropped());
    }

    @Test
    void wrongKeyUnknownClientReplayAndAlterationAreRefusedAndCounted() throws Exception
    {
        final ClientAuth node = node(credentials("client.17.key.1 = " + KEY_A + "\n"), true);
        final ClientAuth genuine = client(17, "key.1 = " + KEY_A + "\n");

        assertEquals(-1, node.admit(frame, 0, request(client(17, "key.1 = " + KEY_B + "\n"), 80, (byte)1), true));
        assertEquals(1, node.dropped(ClientAuth.BAD_MAC));
        assertEquals(-1, node.admit(frame, 0, request(client(18, "key.1 = " + KEY_A + "\n"), 80, (byte)1), true));
        assertEquals(1, node.dropped(ClientAuth.UNKNOWN_CLIENT));
        assertEquals(-1, node.admit(frame, 0, request(client(17, "key.5 = " + KEY_A + "\n"), 80, (byte)1), true));
        assertEquals(1, node.dropped(ClientAuth.UNKNOWN_KEY));
        assertEquals(-1, node.admit(frame, 0, request(null, 80, (byte)1), false));
        assertEquals(1, node.dropped(ClientAuth.UNAUTHENTICATED));
        assertEquals(-1, node.admit(frame, 0, 20, true));
        assertEquals(1, node.dropped(ClientAuth.TOO_SHORT));

        final int length = request(genuine, 80, (byte)2);
        final byte[] captured = new byte[length];
        frame.getBytes(0, captured);
        assertEquals(80, node.admit(frame, 0, length, true));
        assertEquals(-1, node.admit(new UnsafeBuffer(captured), 0, length, true), "replayed");
        assertEquals(1, node.dropped(ClientAuth.REPLAYED));
        final int next = request(genuine, 80, (byte)2);
        frame.putByte(10, (byte)3);
        assertEquals(-1, node.admit(frame, 0, next, true), "altered");
        assertEquals(2, node.dropped(ClientAuth.BAD_MAC));
        frame.putByte(10, (byte)2);
        assertEquals(80, node.admit(frame, 0, next, true), "an altered copy does not consume the genuine frame's sequence");
        assertEquals(2, node.dropped(ClientAuth.BAD_MAC));
    }

    @Test
    void optionalAuthenticationLetsUnsignedFramesInAndChecksSignedOnes() throws Exception
    {
        final ClientAuth optional = node(credentials("client.17.key.1 = " + KEY_A + "\n"), false);
        assertEquals(80, optional.admit(frame, 0, request(null, 80, (byte)1), false));
        assertEquals(0, optional.principal());
        assertEquals(-1, optional.admit(frame, 0, request(client(17, "key.1 = " + KEY_B + "\n"), 80, (byte)1), true));
        assertEquals(1, optional.dropped(ClientAuth.BAD_MAC));

        final ClientAuth off = node(null, false);
        assertFalse(off.enabled());
        assertEquals(80, off.admit(frame, 0, request(null, 80, (byte)1), false));
        assertEquals(-1, off.admit(frame, 0, request(client(17, "key.1 = " + KEY_A + "\n"), 80, (byte)1), true));
        assertEquals(1, off.dropped(ClientAuth.UNEXPECTED_AUTHENTICATION));
        assertThrows(IllegalArgumentException.class, () -> node(null, true));
    }

    @Test
    void severalProcessesWithTheSameCredentialsAreServedSideBySide() throws Exception
    {
        final ClientAuth node = node(credentials("client.17.key.1 = " + KEY_A + "\n"), true);
        final List<ClientAuth> clients = new ArrayList<>();
        for (int i = 0; i < ClientAuth.EPOCHS_PER_SENDER; i++)
        {
            clients.add(client(17, "key.1 = " + KEY_A + "\n"));
        }
        for (int round = 0; round < 5; round++)
        {
            for (final ClientAuth c : clients)
            {
                assertEquals(40, node.admit(frame, 0, request(c, 40, (byte)round), true));
            }
        }
        assertEquals(0, node.dropped());
    }

    @Test
    void replayGuardKeepsEveryAcceptedEpochLiveOrRefused()
    {
        final ReplayGuard guard = new ReplayGuard(2);
        assertEquals(ReplayGuard.ACCEPTED, guard.check(1, 100, 1));
        assertEquals(ReplayGuard.ACCEPTED, guard.check(1, 50, 1), "a second process, started earlier by its clock");
        assertEquals(ReplayGuard.ACCEPTED, guard.check(1, 100, 2));
        assertEquals(ReplayGuard.ACCEPTED, guard.check(1, 50, 2));
        assertEquals(ReplayGuard.REPLAYED, guard.check(1, 50, 2));
        assertEquals(ReplayGuard.ACCEPTED, guard.check(1, 200, 1), "a third: the lowest epoch, 50, is let go");
        assertEquals(ReplayGuard.OLD_EPOCH, guard.check(1, 50, 3));
        assertEquals(ReplayGuard.OLD_EPOCH, guard.check(1, 70, 1), "below the let-go epoch");
        assertEquals(ReplayGuard.ACCEPTED, guard.check(1, 100, 3));
        assertEquals(ReplayGuard.OLD_EPOCH, guard.check(1, Long.MIN_VALUE, 1));
        assertEquals(200, guard.epoch(1));

        final ReplayGuard single = new ReplayGuard();
        assertEquals(ReplayGuard.ACCEPTED, single.check(3, 100, 1));
        assertEquals(ReplayGuard.OLD_EPOCH, single.check(3, 99, 5));
        assertEquals(ReplayGuard.ACCEPTED, single.check(3, 101, 1));
        assertEquals(ReplayGuard.OLD_EPOCH, single.check(3, 100, 2), "one live epoch: a restart ends the previous one");
    }

    @Test
    void aClientKeyIsRotatedWithoutRefusingAFrame() throws Exception
    {
        final Path nodeFile = file("client.17.key.1 = " + KEY_A + "\n");
        final WatchedFile<ClientCredentials> credentials = ClientCredentials.watch(nodeFile);
        final ClientAuth node = node(credentials, true);
        final Path clientFile = file("key.1 = " + KEY_A + "\n");
        final KeyRing clientKeys = KeyRing.load(clientFile);
        final ClientAuth client = ClientAuth.client("client 17", 17, clientKeys, lines::add);
        final ClientAuth.ReplyStream stream = node.newStream(17);

        final Runnable roundTrip = () ->
        {
            final int length = request(client, 50, (byte)1);
            assertEquals(50, node.admit(frame, 0, length, true), node.toString());
            stream.keyId(node.keyId());
            final int answer = 30 + node.sign(frame, 0, 30, stream);
            assertEquals(30, client.admit(frame, 0, answer, true), client.toString());
        };
        roundTrip.run();
        rewrite(nodeFile, "client.17.key.1 = " + KEY_A + "\nclient.17.key.2 = " + KEY_C + "\nclient.17.admin = true\n");
        node.reloadIfChanged(System.currentTimeMillis(), 0);
        assertTrue(node.isAdmin(17));
        roundTrip.run();
        rewrite(clientFile, "key.1 = " + KEY_A + "\nkey.2 = " + KEY_C + "\nsign = 2\n");
        client.reloadIfChanged(System.currentTimeMillis(), 0);
        roundTrip.run();
        assertEquals(2, node.keyId(), "the client signs with the new key, and is answered with it");
        rewrite(nodeFile, "client.17.key.2 = " + KEY_C + "\n");
        node.reloadIfChanged(System.currentTimeMillis(), 0);
        assertFalse(node.isAdmin(17));
        roundTrip.run();
        rewrite(nodeFile, "client.17.key.2 = zz\n");
        node.reloadIfChanged(System.currentTimeMillis(), 0);
        roundTrip.run();
        assertTrue(lines.stream().anyMatch(l -> l.contains("refused") && l.contains("hex")), lines.toString());
        assertFalse(String.join("\n", lines).contains(KEY_C.substring(0, 8)), "no key in a log line");

        rewrite(nodeFile, "client.18.key.1 = " + KEY_A + "\n");
        node.reloadIfChanged(System.currentTimeMillis(), 0);
        assertEquals(-1, node.sign(frame, 0, 30, stream), "client 17 is gone: no answer is signed for it");
        assertEquals(-1, node.admit(frame, 0, request(client, 50, (byte)1), true));
        assertEquals(1, node.dropped(ClientAuth.UNKNOWN_CLIENT));
    }

    private static void rewrite(final Path file, final String text) throws Exception
    {
        final FileTime before = Files.getLastModifiedTime(file);
        Files.writeString(file, text);
        Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 1000));
    }

    @Test
    void credentialsFileErrorsNameTheLineAndNeverAKey() throws Exception
    {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> credentials("client.x.key.1 = " + KEY_A + "\n"))
            .getMessage().contains("line 1: client.x.key.1: x is not a client id"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> credentials("client.1.key.1 = 0102\n"))
            .getMessage().contains("client.1: key.1 must be 16 to 64 bytes, is 2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> credentials("client.1.admin = yes\nclient.1.key.1 = " + KEY_A))
            .getMessage().contains("client.1.admin=yes must be true or false"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> credentials("client.1.admin = true\n"))
            .getMessage().contains("client 1 has no key"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> credentials("node.1.key.1 = " + KEY_A + "\n"))
            .getMessage().contains("unknown setting node.1.key.1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> credentials("# nothing\n")).getMessage().contains("no client"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> credentials("client.1.key.1 = " + KEY_A + "\nclient.1.key.2 = " + KEY_B + "\nclient.1.key.3 = " + KEY_C + "\n"))
            .getMessage().contains("found 3"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> ClientCredentials.watch(dir.resolve("absent")))
            .getMessage().contains("credentials file " + dir.resolve("absent") + " cannot be read"));
        final String shown = credentials("client.1.key.1 = " + KEY_A + "\n").current().toString();
        assertFalse(shown.contains(KEY_A.substring(0, 8)), shown);
    }

    @Test
    void admittingAndSigningAllocateNothingOnceWarm() throws Exception
    {
        final ClientAuth node = node(credentials("client.17.key.1 = " + KEY_A + "\n"), true);
        final ClientAuth client = client(17, "key.1 = " + KEY_A + "\n");
        final ClientAuth.ReplyStream stream = node.newStream(17);
        stream.keyId(1);
        final UnsafeBuffer direct = new UnsafeBuffer(ByteBuffer.allocateDirect(1024)); // as Aeron's term buffers
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 6; round++)
        {
            final long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 5_000; i++)
            {
                final int length = request(client, 200, (byte)i);
                direct.putBytes(0, frame, 0, length);
                if (node.admit(direct, 0, length, true) != 200)
                {
                    throw new AssertionError(node.toString());
                }
                final int answer = 100 + node.sign(direct, 0, 100, stream);
                if (client.admit(direct, 0, answer, true) != 100)
                {
                    throw new AssertionError(client.toString());
                }
            }
            // The fewest of the rounds: the JIT compiling allocates now and then; one object per frame would be 80 KB every round.
            allocated = Math.min(allocated, threads.getCurrentThreadAllocatedBytes() - before);
        }
        assertTrue(allocated < 1024, "5,000 signed, admitted and answered requests allocated " + allocated + " bytes");
    }
}
