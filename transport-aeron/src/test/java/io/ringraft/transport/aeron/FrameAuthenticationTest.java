package io.ringraft.transport.aeron;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.testkit.conformance.RaftNetworkConformance;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Signed frames: the key file, the MAC, replay protection and key rotation, decoder by decoder. */
class FrameAuthenticationTest
{
    private static final int CLUSTER = 7;
    private static final long SELF = 2;
    private static final int MAX = 8192;
    private static final String KEY_A = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    private static final String KEY_B = "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";

    @TempDir
    Path dir;

    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[MAX]);

    private KeyRing ring(final String text) throws Exception
    {
        final Path file = Files.createTempFile(dir, "keys", ".conf");
        Files.writeString(file, text);
        return KeyRing.load(file);
    }

    /** A sender: encoder plus authenticator, signing frames as AeronRaftNetwork does. */
    private static final class Sender
    {
        final WireEncoder encoder = new WireEncoder(CLUSTER, MAX - FrameAuthenticator.TRAILER_LENGTH, WireFormat.FLAG_AUTHENTICATED);
        final FrameAuthenticator authenticator;
        long epoch;
        long sequence;

        Sender(final KeyRing ring, final long epoch)
        {
            this.authenticator = new FrameAuthenticator(ring);
            this.epoch = epoch;
        }

        int sign(final RaftMessage message, final UnsafeBuffer frame)
        {
            final int length = encoder.encode(message, frame, 0);
            return length + authenticator.sign(frame, 0, length, epoch, ++sequence);
        }
    }

    private static WireDecoder decoder(final KeyRing ring)
    {
        return new WireDecoder(CLUSTER, SELF, id -> id == 1 || id == 3, MAX, new FrameAuthenticator(ring), new ReplayGuard(), null);
    }

    @Test
    void everyMessageTypeRoundTripsSigned() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final Sender sender = new Sender(keys, 100);
        final WireDecoder decoder = decoder(keys);
        for (final RaftMessage message : RaftNetworkConformance.everyMessageType(3, SELF))
        {
            final int length = sender.sign(message, frame);
            assertEquals(WireFormat.FLAG_AUTHENTICATED, new MessageHeaderFlyweight().wrap(frame, 0).flags());
            RaftNetworkConformance.assertSameMessage(message, decoder.decode(frame, 0, length));
        }
    }

    /** A non-member's introduction passes only signed with the cluster key, and is not delivered twice. */
    @Test
    void anIntroductionFromANonMemberIsAuthenticatedLikeEveryFrame() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final WireDecoder decoder = new WireDecoder(CLUSTER, SELF, id -> id == 1 || id == 3, MAX, new FrameAuthenticator(keys),
            new ReplayGuard(), null, id -> true);
        final io.ringraft.network.Introduce introduce = new io.ringraft.network.Introduce(4, SELF, 9, "127.0.0.1:40004");

        final int unsigned = new WireEncoder(CLUSTER, MAX).encode(introduce, frame, 0);
        assertNull(decoder.decode(frame, 0, unsigned));
        assertEquals(DropReason.UNAUTHENTICATED, decoder.lastDropReason());

        final int forged = new Sender(ring("key.1 = " + KEY_B + "\n"), 100).sign(introduce, frame);
        assertNull(decoder.decode(frame, 0, forged));
        assertEquals(DropReason.BAD_MAC, decoder.lastDropReason());

        final int genuine = new Sender(keys, 100).sign(introduce, frame);
        assertEquals(introduce, decoder.decode(frame, 0, genuine));
        assertNull(decoder.decode(frame, 0, genuine), "replayed");
        assertEquals(DropReason.REPLAYED, decoder.lastDropReason());
    }

    @Test
    void macIsHmacSha256TruncatedTo16Bytes() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final Sender sender = new Sender(keys, 5);
        final int length = sender.sign(new io.ringraft.network.TimeoutNow(3, SELF, 4), frame);
        final Mac jdk = Mac.getInstance("HmacSHA256");
        jdk.init(new SecretKeySpec(hex(KEY_A), "HmacSHA256"));
        final byte[] content = new byte[length - FrameAuthenticator.MAC_LENGTH];
        frame.getBytes(0, content);
        final byte[] expected = java.util.Arrays.copyOf(jdk.doFinal(content), FrameAuthenticator.MAC_LENGTH);
        final byte[] actual = new byte[FrameAuthenticator.MAC_LENGTH];
        frame.getBytes(length - FrameAuthenticator.MAC_LENGTH, actual);
        assertArrayEquals(expected, actual, "interoperable with any HMAC-SHA256");
    }

    @Test
    void everyBitFlipOfASignedFrameIsDropped() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final Sender sender = new Sender(keys, 100);
        final RaftMessage message = new AppendEntriesRequest(3, SELF, 5, new LogId(4, 9), 8, 2,
            List.of(new Entry(5, 10, EntryType.NORMAL, new byte[]{1, 2, 3}), new Entry(5, 11, EntryType.NORMAL, new byte[40])));
        final int length = sender.sign(message, frame);
        final byte[] genuine = new byte[length];
        frame.getBytes(0, genuine);
        final Set<DropReason> seen = EnumSet.noneOf(DropReason.class);
        for (int bit = 0; bit < length * 8; bit++)
        {
            frame.putBytes(0, genuine);
            frame.putByte(bit / 8, (byte)(frame.getByte(bit / 8) ^ (1 << (bit % 8))));
            final WireDecoder decoder = decoder(keys); // a fresh guard: only the flip can make it fail
            assertNull(decoder.decode(frame, 0, length), "bit " + bit + " flipped and delivered");
            seen.add(decoder.lastDropReason());
        }
        assertTrue(seen.contains(DropReason.BAD_MAC), seen.toString());
        frame.putBytes(0, genuine);
        assertNotNull(decoder(keys).decode(frame, 0, length), "the genuine frame passes");
    }

    @Test
    void replaysAndEarlierEpochsAreDropped() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final Sender sender = new Sender(keys, 100);
        final WireDecoder decoder = decoder(keys);
        final RaftMessage message = new io.ringraft.network.TimeoutNow(3, SELF, 4);
        final int first = sender.sign(message, frame);
        final byte[] captured = new byte[first];
        frame.getBytes(0, captured);
        assertNotNull(decoder.decode(frame, 0, first));
        assertNull(decoder.decode(frame, 0, first));
        assertEquals(DropReason.REPLAYED, decoder.lastDropReason());
        final int second = sender.sign(message, frame);
        assertNotNull(decoder.decode(frame, 0, second), "the next genuine frame passes");

        sender.epoch = 200; // the sender restarted
        sender.sequence = 0;
        final int restarted = sender.sign(message, frame);
        assertNotNull(decoder.decode(frame, 0, restarted), "a new epoch starts again from sequence 1");
        frame.putBytes(0, captured);
        assertNull(decoder.decode(frame, 0, first));
        assertEquals(DropReason.OLD_EPOCH, decoder.lastDropReason(), "a frame of the earlier run");
    }

    @Test
    void signedAndUnsignedDoNotMix() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final RaftMessage message = new io.ringraft.network.TimeoutNow(3, SELF, 4);
        final int plain = new WireEncoder(CLUSTER, MAX).encode(message, frame, 0);
        final WireDecoder signedOnly = decoder(keys);
        assertNull(signedOnly.decode(frame, 0, plain));
        assertEquals(DropReason.UNAUTHENTICATED, signedOnly.lastDropReason());

        final int signed = new Sender(keys, 1).sign(message, frame);
        final WireDecoder plainOnly = new WireDecoder(CLUSTER, SELF, id -> id == 3, MAX);
        assertNull(plainOnly.decode(frame, 0, signed));
        assertEquals(DropReason.UNEXPECTED_AUTHENTICATION, plainOnly.lastDropReason());
    }

    @Test
    void rotationAcceptsBothKeysWhileItLasts() throws Exception
    {
        final KeyRing oldOnly = ring("key.1 = " + KEY_A + "\n");
        final KeyRing both = ring("key.1 = " + KEY_A + "\nkey.2 = " + KEY_B + "\nsign = 2\n");
        final KeyRing newOnly = ring("key.2 = " + KEY_B + "\n");
        final KeyRing wrong = ring("key.1 = " + KEY_B + "\n");
        final RaftMessage message = new io.ringraft.network.TimeoutNow(3, SELF, 4);

        int length = new Sender(both, 1).sign(message, frame);
        assertNotNull(decoder(both).decode(frame, 0, length));
        assertNotNull(decoder(newOnly).decode(frame, 0, length));
        final WireDecoder stale = decoder(oldOnly);
        assertNull(stale.decode(frame, 0, length));
        assertEquals(DropReason.UNKNOWN_KEY, stale.lastDropReason(), "a node not given the new key yet");

        length = new Sender(oldOnly, 1).sign(message, frame);
        assertNotNull(decoder(both).decode(frame, 0, length), "the old key is still accepted during the rotation");
        final WireDecoder other = decoder(wrong);
        assertNull(other.decode(frame, 0, length));
        assertEquals(DropReason.BAD_MAC, other.lastDropReason(), "the same id with another key");
    }

    @Test
    void aReloadedRingIsUsedFromTheNextFrame() throws Exception
    {
        final Path file = dir.resolve("cluster.key");
        Files.writeString(file, "key.1 = " + KEY_A + "\n");
        final KeyRing ring = KeyRing.load(file);
        final FrameAuthenticator authenticator = new FrameAuthenticator(ring);
        assertEquals(1, authenticator.keys().signingKeyId());
        Files.writeString(file, "key.1 = " + KEY_A + "\nkey.2 = " + KEY_B + "\nsign = 2\n");
        assertTrue(ring.reload());
        final RaftMessage message = new io.ringraft.network.TimeoutNow(3, SELF, 4);
        final int length = new WireEncoder(CLUSTER, MAX, WireFormat.FLAG_AUTHENTICATED).encode(message, frame, 0);
        authenticator.sign(frame, 0, length, 1, 1);
        assertEquals(2, FrameAuthenticator.keyId(frame, 0, length + FrameAuthenticator.TRAILER_LENGTH));
        Files.writeString(file, "key.1 = nothex\n");
        assertThrows(IllegalArgumentException.class, ring::reload);
        assertEquals(2, ring.keys().signingKeyId(), "an invalid file is refused, the keys in use stay");
    }

    @Test
    void keyFileErrorsNameTheFileAndLineButNeverTheKey() throws Exception
    {
        final String secret = KEY_A.substring(0, 30) + "zz";
        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ring("# keys\nkey.1 = " + secret + "\n"));
        assertTrue(bad.getMessage().contains("line 2") && bad.getMessage().contains("keys"), bad.getMessage());
        assertFalse(bad.getMessage().contains(secret.substring(0, 20)), "the key is not in the message: " + bad.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ring("key.1 = 00ff\n")).getMessage().contains("16 to 64 bytes"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ring("key.1 = " + KEY_A + "\nkey.2 = " + KEY_B + "\n"))
            .getMessage().contains("sign"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ring("key.1 = " + KEY_A + "\nsign = 3\n"))
            .getMessage().contains("sign=3"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ring("")).getMessage().contains("no key.N"));
        assertFalse(ring("key.1 = " + KEY_A + "\n").toString().contains(KEY_A.substring(0, 8)), "toString hides the key");
    }

    @Test
    void signingAndVerifyingAllocateNothing() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final Sender sender = new Sender(keys, 100);
        final WireDecoder decoder = decoder(keys);
        final RaftMessage message = new AppendEntriesRequest(3, SELF, 5, new LogId(4, 9), 8, 2,
            List.of(new Entry(5, 10, EntryType.NORMAL, new byte[64])));
        final UnsafeBuffer direct = new UnsafeBuffer(java.nio.ByteBuffer.allocateDirect(MAX)); // as Aeron's term buffers
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long allocated = 0;
        for (int round = 0; round < 3; round++)
        {
            final long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
            for (int i = 0; i < 5_000; i++)
            {
                final int length = sender.sign(message, frame);
                direct.putBytes(0, frame, 0, length);
                if (decoder.decode(direct, 0, length) == null)
                {
                    throw new AssertionError("dropped: " + decoder.lastDropReason());
                }
            }
            allocated = threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
        }
        assertTrue(allocated < 1024, "5,000 signed and verified frames allocated " + allocated + " bytes");
    }

    @Test
    void randomFramesSignedWithAnotherKeyNeverPass() throws Exception
    {
        final KeyRing keys = ring("key.1 = " + KEY_A + "\n");
        final KeyRing forger = ring("key.1 = " + KEY_B + "\n");
        final Random random = new Random(42);
        final RandomMessages messages = new RandomMessages(random);
        final Sender sender = new Sender(forger, 1);
        final WireDecoder decoder = decoder(keys);
        for (int i = 0; i < 5_000; i++)
        {
            final int length = sender.sign(messages.next(random.nextBoolean() ? 1 : 3, SELF), frame);
            assertNull(decoder.decode(frame, 0, length));
            assertEquals(DropReason.BAD_MAC, decoder.lastDropReason());
        }
    }

    private static byte[] hex(final String hex)
    {
        final byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
