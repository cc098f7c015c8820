package io.ringraft.transport.aeron;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Signs and verifies frames with the keys of a {@link KeyRing}: a trailer of
 * {@value #TRAILER_LENGTH} bytes after the frame's content carries the key id, the sender's epoch
 * and sequence number (for a {@link ReplayGuard}) and a MAC over everything before it: HMAC-SHA256
 * (over the JDK's SHA-256), truncated to {@value #MAC_LENGTH} bytes (128 bits, as RFC 4868 allows).
 * <pre>
 *   keyId     int32    which key signed
 *   epoch     int64    the sender's epoch: greater after every restart
 *   sequence  int64    greater for every frame of an epoch
 *   mac       16 bytes HMAC-SHA256(key, frame content + keyId + epoch + sequence), first 16 bytes
 * </pre>
 * Knows nothing of what the frames hold: the Raft transport and a client protocol use it alike.
 * <p>
 * Allocation-free once warm (the MAC state is made once per key and reused; a frame that is not
 * in a byte array is fed through a reused array). Not thread-safe: one per thread, several
 * over one ring.
 */
public final class FrameAuthenticator
{
    /** The length of the trailer {@link #sign} appends. */
    public static final int TRAILER_LENGTH = 36;
    /** The length of the MAC in the trailer. */
    public static final int MAC_LENGTH = 16;
    /** {@link #verify}: the MAC matches. */
    public static final int VALID = 0;
    /** {@link #verify}: shorter than a trailer. */
    public static final int TOO_SHORT = 1;
    /** {@link #verify}: signed with a key this node does not hold (a rotation not finished here, or another cluster's). */
    public static final int UNKNOWN_KEY = 2;
    /** {@link #verify}: the MAC does not match: altered, forged, or signed with another key of the same id. */
    public static final int BAD_MAC = 3;

    private static final int KEY_ID = 0;
    private static final int EPOCH = 4;
    private static final int SEQUENCE = 12;
    private static final int MAC = 20;

    private final KeyRing ring;
    private final byte[] scratch = new byte[4096];
    private final byte[] digest = new byte[HmacSha256.LENGTH];
    private Macs macs;

    /** @param ring the keys; a changed ring is picked up at the next frame */
    public FrameAuthenticator(final KeyRing ring)
    {
        this.ring = ring;
        refresh();
    }

    /** An authenticator without keys of its own: every frame is signed and verified with the {@link Macs} given. */
    FrameAuthenticator()
    {
        this.ring = null;
    }

    /**
     * Appends the trailer to the frame content at {@code [offset, offset + length)}.
     *
     * @param buffer   holds the content and has room for the trailer after it
     * @param offset   where the content starts
     * @param length   its length
     * @param epoch    the sender's epoch
     * @param sequence the frame's sequence number in the epoch
     * @return {@link #TRAILER_LENGTH}
     */
    public int sign(final MutableDirectBuffer buffer, final int offset, final int length, final long epoch, final long sequence)
    {
        refresh();
        final int keyId = macs.keys.signingKeyId();
        return sign(macs.forId(keyId), keyId, buffer, offset, length, epoch, sequence);
    }

    /** {@link #sign} with the given key. */
    int sign(final HmacSha256 mac, final int keyId, final MutableDirectBuffer buffer, final int offset, final int length, final long epoch,
        final long sequence)
    {
        final int trailer = offset + length;
        buffer.putInt(trailer + KEY_ID, keyId, LITTLE_ENDIAN);
        buffer.putLong(trailer + EPOCH, epoch, LITTLE_ENDIAN);
        buffer.putLong(trailer + SEQUENCE, sequence, LITTLE_ENDIAN);
        compute(mac, buffer, offset, length + MAC);
        buffer.putBytes(trailer + MAC, digest, 0, MAC_LENGTH);
        return TRAILER_LENGTH;
    }

    /**
     * Checks the MAC of a frame that ends with a trailer.
     *
     * @param buffer holds the frame
     * @param offset where it starts
     * @param length its length, trailer included
     * @return {@link #VALID}, {@link #TOO_SHORT}, {@link #UNKNOWN_KEY} or {@link #BAD_MAC}
     */
    public int verify(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < TRAILER_LENGTH)
        {
            return TOO_SHORT;
        }
        refresh();
        return verify(macs, buffer, offset, length);
    }

    /** {@link #verify} with the given keys. */
    int verify(final Macs keys, final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < TRAILER_LENGTH)
        {
            return TOO_SHORT;
        }
        final int trailer = offset + length - TRAILER_LENGTH;
        final HmacSha256 mac = keys.forId(buffer.getInt(trailer + KEY_ID, LITTLE_ENDIAN));
        if (mac == null)
        {
            return UNKNOWN_KEY;
        }
        compute(mac, buffer, offset, length - TRAILER_LENGTH + MAC);
        // Constant time: how far a forged MAC matches must not show in the time taken.
        int diff = 0;
        for (int i = 0; i < MAC_LENGTH; i++)
        {
            diff |= digest[i] ^ buffer.getByte(trailer + MAC + i);
        }
        return diff == 0 ? VALID : BAD_MAC;
    }

    /** @return the key id in the trailer of the frame at {@code [offset, offset + length)} */
    public static int keyId(final DirectBuffer buffer, final int offset, final int length)
    {
        return buffer.getInt(offset + length - TRAILER_LENGTH + KEY_ID, LITTLE_ENDIAN);
    }

    /** @return the epoch in the trailer of the frame at {@code [offset, offset + length)} */
    public static long epoch(final DirectBuffer buffer, final int offset, final int length)
    {
        return buffer.getLong(offset + length - TRAILER_LENGTH + EPOCH, LITTLE_ENDIAN);
    }

    /** @return the sequence number in the trailer of the frame at {@code [offset, offset + length)} */
    public static long sequence(final DirectBuffer buffer, final int offset, final int length)
    {
        return buffer.getLong(offset + length - TRAILER_LENGTH + SEQUENCE, LITTLE_ENDIAN);
    }

    /** @return the keys in use */
    public ClusterKeys keys()
    {
        return macs.keys;
    }

    private void compute(final HmacSha256 mac, final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] array = buffer.byteArray();
        if (array != null)
        {
            mac.update(array, buffer.wrapAdjustment() + offset, length);
        }
        else
        {
            for (int at = 0; at < length; at += scratch.length)
            {
                final int chunk = Math.min(scratch.length, length - at);
                buffer.getBytes(offset + at, scratch, 0, chunk);
                mac.update(scratch, 0, chunk);
            }
        }
        mac.doFinal(digest);
    }

    private void refresh()
    {
        final ClusterKeys current = ring.keys();
        if (macs == null || current != macs.keys)
        {
            macs = new Macs(current);
        }
    }

    /** The MAC state of each key of a {@link ClusterKeys}, made once and reused. Not thread-safe. */
    static final class Macs
    {
        final ClusterKeys keys;
        private final HmacSha256[] macs;

        Macs(final ClusterKeys keys)
        {
            this.keys = keys;
            this.macs = new HmacSha256[keys.size()];
            for (int i = 0; i < macs.length; i++)
            {
                macs[i] = new HmacSha256(keys.key(i));
            }
        }

        /** @return the MAC of key {@code keyId}, or null if there is none of that id */
        HmacSha256 forId(final int keyId)
        {
            for (int i = 0; i < macs.length; i++)
            {
                if (keys.id(i) == keyId)
                {
                    return macs[i];
                }
            }
            return null;
        }
    }
}
