package io.ringraft.transport.aeron;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The shared secret keys of a cluster, as read from a key file: one key, or two while a rotation
 * is under way. Frames are signed with the {@linkplain #signingKeyId() signing key} and accepted
 * under either. Immutable; {@link #toString()} never shows a key.
 * <p>
 * The key file is text, {@code name = value} lines, {@code #} starts a comment:
 * <pre>
 * key.1 = 5c0b...   # 16 to 64 random bytes in hex (32 recommended): head -c 32 /dev/urandom | xxd -p -c 64
 * key.2 = 91fe...   # optional: a second key, during a rotation
 * sign  = 2         # the key that signs; required when there are two
 * </pre>
 * Key ids are 1 to 2147483647. A rotation: give every node both keys (signing with the old one),
 * then make the new one sign on every node, then remove the old one; each step complete on every
 * node before the next, and a node picks up its changed file by itself (see
 * {@link AeronTransportConfig#authKeyCheckIntervalMs(long)}).
 */
public final class ClusterKeys
{
    /** The shortest key accepted, in bytes. */
    public static final int MIN_KEY_LENGTH = 16;
    /** The longest key accepted, in bytes (HMAC-SHA256's block). */
    public static final int MAX_KEY_LENGTH = 64;

    private final String source;
    private final int[] ids;
    private final byte[][] keys;
    private final int signingKeyId;

    /**
     * @param source       where the keys come from, for messages (a file name)
     * @param ids          one or two distinct key ids, {@code > 0}
     * @param keys         the keys, parallel to {@code ids}, each {@value #MIN_KEY_LENGTH} to {@value #MAX_KEY_LENGTH} bytes (copied)
     * @param signingKeyId one of {@code ids}
     * @throws IllegalArgumentException if one of those rules is broken
     */
    public ClusterKeys(final String source, final int[] ids, final byte[][] keys, final int signingKeyId)
    {
        if (ids.length < 1 || ids.length > 2 || keys.length != ids.length)
        {
            throw new IllegalArgumentException(source + ": needs one key, or two during a rotation; found " + ids.length);
        }
        if (ids.length == 2 && ids[0] == ids[1])
        {
            throw new IllegalArgumentException(source + ": key." + ids[0] + " is given twice");
        }
        boolean signingKnown = false;
        for (int i = 0; i < ids.length; i++)
        {
            if (ids[i] <= 0)
            {
                throw new IllegalArgumentException(source + ": key id " + ids[i] + " must be > 0");
            }
            if (keys[i] == null || keys[i].length < MIN_KEY_LENGTH || keys[i].length > MAX_KEY_LENGTH)
            {
                throw new IllegalArgumentException(source + ": key." + ids[i] + " must be " + MIN_KEY_LENGTH + " to " + MAX_KEY_LENGTH +
                    " bytes, is " + (keys[i] == null ? 0 : keys[i].length));
            }
            signingKnown |= ids[i] == signingKeyId;
        }
        if (!signingKnown)
        {
            throw new IllegalArgumentException(source + ": sign=" + signingKeyId + " names no key of the file");
        }
        this.source = source;
        this.ids = ids.clone();
        this.keys = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++)
        {
            this.keys[i] = keys[i].clone();
        }
        this.signingKeyId = signingKeyId;
    }

    /**
     * Reads a key file.
     *
     * @param file the key file
     * @return its keys
     * @throws IllegalArgumentException naming the file and the line (never a key) if it cannot be
     *                                  read or breaks a rule
     */
    public static ClusterKeys load(final Path file)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("key file " + file + " cannot be read: " + ex, ex);
        }
        final String source = "key file " + file;
        int[] ids = new int[0];
        byte[][] keys = new byte[0][];
        int sign = 0;
        for (int n = 0; n < lines.size(); n++)
        {
            String line = lines.get(n);
            final int hash = line.indexOf('#');
            line = (hash >= 0 ? line.substring(0, hash) : line).trim();
            if (line.isEmpty())
            {
                continue;
            }
            final int eq = line.indexOf('=');
            final String where = source + " line " + (n + 1);
            if (eq <= 0)
            {
                throw new IllegalArgumentException(where + ": expected name = value");
            }
            final String name = line.substring(0, eq).trim();
            final String value = line.substring(eq + 1).trim();
            if (name.equals("sign"))
            {
                sign = parseId(value, where + ": sign");
            }
            else if (name.startsWith("key."))
            {
                final int id = parseId(name.substring(4), where + ": " + name);
                ids = Arrays.copyOf(ids, ids.length + 1);
                ids[ids.length - 1] = id;
                keys = Arrays.copyOf(keys, keys.length + 1);
                keys[keys.length - 1] = parseHex(value, where + ": " + name);
            }
            else
            {
                throw new IllegalArgumentException(where + ": unknown setting " + name + " (expected key.N or sign)");
            }
        }
        if (ids.length == 0)
        {
            throw new IllegalArgumentException(source + ": no key.N line");
        }
        if (sign == 0)
        {
            if (ids.length > 1)
            {
                throw new IllegalArgumentException(source + ": two keys and no sign = N line saying which one signs");
            }
            sign = ids[0];
        }
        return new ClusterKeys(source, ids, keys, sign);
    }

    /** @return the id of the key that signs frames */
    public int signingKeyId()
    {
        return signingKeyId;
    }

    /** @return how many keys (1, or 2 during a rotation) */
    public int size()
    {
        return ids.length;
    }

    /** @return the id of key {@code i}, {@code 0 <= i < size()} */
    public int id(final int i)
    {
        return ids[i];
    }

    /** @return where the keys came from */
    public String source()
    {
        return source;
    }

    /** @return a copy of key {@code i}, for a MAC */
    byte[] key(final int i)
    {
        return keys[i].clone();
    }

    /** @return true if the same ids, keys and signing key */
    boolean sameAs(final ClusterKeys other)
    {
        return other != null && signingKeyId == other.signingKeyId && Arrays.equals(ids, other.ids) && Arrays.deepEquals(keys, other.keys);
    }

    static int parseId(final String text, final String where)
    {
        try
        {
            final int id = Integer.parseInt(text.trim());
            if (id > 0)
            {
                return id;
            }
        }
        catch (final NumberFormatException ignored)
        {
            // reported below
        }
        throw new IllegalArgumentException(where + ": " + text + " is not a key id from 1 to 2147483647");
    }

    static byte[] parseHex(final String hex, final String where)
    {
        if (hex.length() % 2 != 0)
        {
            throw new IllegalArgumentException(where + ": the key must be an even number of hex digits");
        }
        final byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++)
        {
            final int hi = Character.digit(hex.charAt(2 * i), 16);
            final int lo = Character.digit(hex.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0)
            {
                throw new IllegalArgumentException(where + ": the key must be hex digits only");
            }
            bytes[i] = (byte)(hi << 4 | lo);
        }
        return bytes;
    }

    @Override
    public String toString()
    {
        return "ClusterKeys{" + source + ", ids=" + Arrays.toString(ids) + ", sign=" + signingKeyId + "}";
    }
}
