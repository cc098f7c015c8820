package io.ringraft.transport.aeron;

import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.testkit.conformance.RaftNetworkConformance;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Set;
import java.util.Map;
import java.util.Random;

import static io.ringraft.transport.aeron.WireFormat.HEADER_LENGTH;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Over a million random valid frames, each mutated or not, straight into the decoder: it never
 * throws, drops every frame that a mutation makes invalid under the right reason, delivers only
 * messages that are well formed and addressed to it, and still decodes valid frames afterwards.
 * The seed is printed on failure; {@code -Dringraft.fuzz.seed=N} replays it.
 */
class WireFuzzTest
{
    private static final int CLUSTER = 7;
    private static final long SELF = 2;
    private static final int MAX = 8192;
    private static final int FRAMES = 1_200_000;
    private static final int POOL = 4096;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    enum Mutation
    {
        NONE, TRUNCATE, EXTEND, BIT_FLIPS, CHECKED_HEADER_BIT_FLIP, WRONG_VERSION, WRONG_CLUSTER, UNKNOWN_SENDER,
        WRONG_RECEIVER, BAD_MAGIC, UNKNOWN_TYPE, RANDOM_BYTES, RANDOM_BODY_INT
    }

    @Test
    void decoderSurvivesAMillionMutatedFrames()
    {
        final long seed = Long.getLong("ringraft.fuzz.seed", System.nanoTime());
        try
        {
            run(seed);
        }
        catch (final AssertionError | RuntimeException ex)
        {
            throw new AssertionError("WireFuzzTest failed with seed " + seed + " (replay: -Dringraft.fuzz.seed=" + seed + ")", ex);
        }
    }

    private static void run(final long seed)
    {
        final Random random = new Random(seed);
        final RandomMessages messages = new RandomMessages(random);
        final WireEncoder encoder = new WireEncoder(CLUSTER, MAX);
        // Introductions from strangers pass the gate every other time: the rate limit's refusals are seen too.
        final int[] gateCalls = {0};
        final WireDecoder decoder = new WireDecoder(CLUSTER, SELF, id -> id == 1 || id == 3, MAX, null, null, null,
            id -> (gateCalls[0]++ & 1) == 0);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[MAX + 512]);
        final Mutation[] mutations = Mutation.values();
        final Map<Mutation, Integer> byMutation = new EnumMap<>(Mutation.class);
        final Map<DropReason, Integer> dropped = new EnumMap<>(DropReason.class);
        int delivered = 0;

        // A pool of valid frames, so the loop spends its time mutating and decoding rather than building messages.
        final RaftMessage[] pool = new RaftMessage[POOL];
        final byte[][] poolFrames = new byte[POOL][];
        for (int p = 0; p < POOL; p++)
        {
            pool[p] = messages.next(random.nextBoolean() ? 1 : 3, SELF);
            poolFrames[p] = new byte[encoder.encode(pool[p], frame, 0)];
            frame.getBytes(0, poolFrames[p]);
        }

        for (int i = 0; i < FRAMES; i++)
        {
            final int pick = random.nextInt(POOL);
            final RaftMessage message = pool[pick];
            int length = poolFrames[pick].length;
            frame.putBytes(0, poolFrames[pick]);
            final Mutation mutation = mutations[random.nextInt(mutations.length)];
            byMutation.merge(mutation, 1, Integer::sum);
            DropReason expected = null;
            switch (mutation)
            {
                case NONE:
                    break;
                case TRUNCATE:
                    length = random.nextInt(length);
                    expected = length < HEADER_LENGTH ? DropReason.TOO_SHORT : DropReason.BAD_LENGTH;
                    break;
                case EXTEND:
                {
                    final int extra = 1 + random.nextInt(64);
                    for (int b = 0; b < extra; b++)
                    {
                        frame.putByte(length + b, (byte)random.nextInt());
                    }
                    length += extra;
                    expected = DropReason.BAD_LENGTH;
                    break;
                }
                case BIT_FLIPS:
                    for (int f = 1 + random.nextInt(4); f > 0; f--)
                    {
                        flipBit(frame, random.nextInt(length * 8));
                    }
                    break;
                case CHECKED_HEADER_BIT_FLIP:
                {
                    // A flip in a field that admits a single value here: magic, version, cluster id, receiver id, body length.
                    final int[][] fields = {{0, 2}, {2, 1}, {12, 4}, {24, 8}, {8, 4}};
                    final int[] field = fields[random.nextInt(fields.length)];
                    flipBit(frame, field[0] * 8 + random.nextInt(field[1] * 8));
                    expected = field[0] == 0 ? DropReason.BAD_MAGIC : field[0] == 2 ? DropReason.UNSUPPORTED_VERSION :
                        field[0] == 12 ? DropReason.WRONG_CLUSTER : field[0] == 24 ? DropReason.WRONG_RECEIVER : DropReason.BAD_LENGTH;
                    break;
                }
                case WRONG_VERSION:
                    frame.putByte(2, (byte)(2 + random.nextInt(254)));
                    expected = DropReason.UNSUPPORTED_VERSION;
                    break;
                case WRONG_CLUSTER:
                    frame.putInt(12, CLUSTER + 1 + random.nextInt(1000), LE);
                    expected = DropReason.WRONG_CLUSTER;
                    break;
                case UNKNOWN_SENDER:
                {
                    final long[] strangers = {0, SELF, 4, -1, Long.MAX_VALUE, 1L << 40};
                    final long stranger = strangers[random.nextInt(strangers.length)];
                    frame.putLong(16, stranger, LE);
                    // A stranger's introduction is delivered or refused by the gate, never dropped for its sender.
                    expected = message instanceof Introduce && stranger != SELF ? null : DropReason.UNKNOWN_SENDER;
                    break;
                }
                case WRONG_RECEIVER:
                    frame.putLong(24, random.nextBoolean() ? 1 : 3 + random.nextInt(100), LE);
                    expected = DropReason.WRONG_RECEIVER;
                    break;
                case BAD_MAGIC:
                    frame.putShort(0, (short)(WireFormat.MAGIC + 1 + random.nextInt(0xFFFE)), LE);
                    expected = DropReason.BAD_MAGIC;
                    break;
                case UNKNOWN_TYPE:
                    frame.putByte(3, (byte)(random.nextBoolean() ? 0 : WireFormat.TYPE_INTRODUCE + 1 + random.nextInt(255 - WireFormat.TYPE_INTRODUCE)));
                    expected = DropReason.UNKNOWN_TYPE;
                    break;
                case RANDOM_BYTES:
                    length = random.nextInt(300);
                    for (int b = 0; b < length; b++)
                    {
                        frame.putByte(b, (byte)random.nextInt());
                    }
                    if (length >= 2 && frame.getShort(0, LE) == (short)WireFormat.MAGIC)
                    {
                        frame.putShort(0, (short)0, LE);
                    }
                    expected = length < HEADER_LENGTH ? DropReason.TOO_SHORT : DropReason.BAD_MAGIC;
                    break;
                case RANDOM_BODY_INT:
                    if (length >= HEADER_LENGTH + 4)
                    {
                        frame.putInt(HEADER_LENGTH + random.nextInt(length - HEADER_LENGTH - 3),
                            random.nextBoolean() ? random.nextInt() : random.nextInt(64) - 2, LE);
                    }
                    break;
                default:
                    fail("unhandled mutation " + mutation);
            }

            final RaftMessage decoded = decoder.decode(frame, 0, length);
            if (decoded == null)
            {
                final DropReason reason = decoder.lastDropReason();
                assertNotNull(reason);
                dropped.merge(reason, 1, Integer::sum);
                if (mutation == Mutation.NONE)
                {
                    fail("valid frame dropped as " + reason + ": " + message);
                }
                if (expected != null)
                {
                    assertEquals(expected, reason, () -> mutation + " of " + message);
                }
            }
            else
            {
                delivered++;
                if (expected != null)
                {
                    fail(mutation + " delivered " + decoded + " instead of dropping it as " + expected);
                }
                if (mutation == Mutation.NONE)
                {
                    RaftNetworkConformance.assertSameMessage(message, decoded);
                }
                assertTrue(decoded.from() == 1 || decoded.from() == 3 || decoded instanceof Introduce && decoded.from() != SELF,
                    () -> "from " + decoded);
                assertEquals(SELF, decoded.to());
                assertTrue(decoded.term() >= 0);
                // Whatever it delivers is a complete message: every field the encoder needs is there.
                assertTrue(encoder.encodedLength(decoded) >= HEADER_LENGTH);
            }
        }

        int totalDropped = 0;
        for (final int n : dropped.values())
        {
            totalDropped += n;
        }
        assertEquals(FRAMES, delivered + totalDropped, "every frame is delivered or dropped");
        for (final Mutation m : mutations)
        {
            assertTrue(byMutation.getOrDefault(m, 0) > FRAMES / mutations.length / 2, "mutation " + m + " exercised");
        }
        // Checks this decoder does not make (no source check, no key) are FrameAuthenticationTest's.
        final Set<DropReason> notMade = EnumSet.of(DropReason.TOO_LONG, DropReason.WRONG_SOURCE, DropReason.UNAUTHENTICATED,
            DropReason.UNKNOWN_KEY, DropReason.BAD_MAC, DropReason.OLD_EPOCH, DropReason.REPLAYED);
        for (final DropReason reason : DropReason.values())
        {
            if (!notMade.contains(reason))
            {
                assertTrue(dropped.getOrDefault(reason, 0) > 0, "drop reason " + reason + " seen: " + dropped);
            }
        }

        // The decoder is not wedged by what it saw.
        for (final RaftMessage message : RaftNetworkConformance.everyMessageType(3, SELF))
        {
            final int length = encoder.encode(message, frame, 0);
            RaftNetworkConformance.assertSameMessage(message, decoder.decode(frame, 0, length));
        }
        System.out.println("WireFuzzTest seed=" + seed + " frames=" + FRAMES + " delivered=" + delivered + " dropped=" + dropped);
    }

    private static void flipBit(final UnsafeBuffer frame, final int bit)
    {
        final int index = bit >>> 3;
        frame.putByte(index, (byte)(frame.getByte(index) ^ (1 << (bit & 7))));
    }
}
