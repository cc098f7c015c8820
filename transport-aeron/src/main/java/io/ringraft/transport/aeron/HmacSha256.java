package io.ringraft.transport.aeron;

import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * HMAC-SHA256 (RFC 2104) over the JDK's SHA-256, without allocating per message: the JDK's
 * {@code Mac.doFinal} returns a new array for every MAC; this one writes into a reused one. Same
 * result as {@code Mac.getInstance("HmacSHA256")}. Not thread-safe.
 */
final class HmacSha256
{
    static final int LENGTH = 32;
    private static final int BLOCK = 64;

    private final MessageDigest sha256;
    private final byte[] innerPad = new byte[BLOCK];
    private final byte[] outerPad = new byte[BLOCK];
    private final byte[] inner = new byte[LENGTH];

    /** @param key 1 to 64 bytes */
    HmacSha256(final byte[] key)
    {
        if (key.length == 0 || key.length > BLOCK)
        {
            throw new IllegalArgumentException("an HMAC-SHA256 key here is 1 to 64 bytes, not " + key.length);
        }
        try
        {
            sha256 = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("the JDK has no SHA-256: " + ex, ex);
        }
        for (int i = 0; i < BLOCK; i++)
        {
            final byte k = i < key.length ? key[i] : 0;
            innerPad[i] = (byte)(k ^ 0x36);
            outerPad[i] = (byte)(k ^ 0x5c);
        }
        sha256.update(innerPad);
    }

    /** Feeds message bytes. */
    void update(final byte[] bytes, final int offset, final int length)
    {
        sha256.update(bytes, offset, length);
    }

    /** Writes the MAC of the bytes fed since the last call into {@code out[0, 32)} and starts the next message. */
    void doFinal(final byte[] out)
    {
        try
        {
            sha256.digest(inner, 0, LENGTH);
            sha256.update(outerPad);
            sha256.update(inner);
            sha256.digest(out, 0, LENGTH);
        }
        catch (final DigestException ex)
        {
            throw new IllegalStateException(ex); // 32 bytes always fit
        }
        Arrays.fill(inner, (byte)0);
        sha256.update(innerPad);
    }
}
