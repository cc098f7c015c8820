package io.ringraft.transport.aeron;

import org.agrona.collections.Long2ObjectHashMap;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The clients a node lets in, as read from a credentials file: per client id its own secret key
 * (or two while that client's key is rotated) and whether it may use the admin protocol.
 * Immutable; {@link #toString()} never shows a key.
 * <p>
 * The file is text, {@code name = value} lines, {@code #} starts a comment:
 * <pre>
 * client.17.key.1 = 5c0b...   # 16 to 64 random bytes in hex: head -c 32 /dev/urandom | xxd -p -c 64
 * client.17.key.2 = 91fe...   # optional: a second key, while the client's key is rotated
 * client.17.admin = true      # optional: may change the membership (ringraft admin); default false
 * client.42.key.1 = 0d4a...
 * </pre>
 * Client ids are 1 to 2<sup>63</sup>-1, key ids 1 to 2147483647. The client holds its own key in
 * a key file of {@link ClusterKeys}'s format ({@code key.1 = ...}, {@code sign = N}). A rotation
 * of a client's key: add the new key to the node's file (both keys accepted), then give it to the
 * client and make it sign with it, then remove the old one from the node's file. The node answers
 * every request with the key it was signed with, so the client always holds the key of an answer.
 */
public final class ClientCredentials
{
    private final String source;
    private final Long2ObjectHashMap<ClusterKeys> keys;
    private final Long2ObjectHashMap<Boolean> admins;

    private ClientCredentials(final String source, final Long2ObjectHashMap<ClusterKeys> keys, final Long2ObjectHashMap<Boolean> admins)
    {
        this.source = source;
        this.keys = keys;
        this.admins = admins;
    }

    /**
     * Reads a credentials file.
     *
     * @param file the file
     * @return its credentials
     * @throws IllegalArgumentException naming the file and the line (never a key) if it cannot be
     *                                  read or breaks a rule
     */
    public static ClientCredentials load(final Path file)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("credentials file " + file + " cannot be read: " + ex, ex);
        }
        final String source = "credentials file " + file;
        final Map<Long, List<int[]>> ids = new TreeMap<>();
        final Map<Long, List<byte[]>> secrets = new TreeMap<>();
        final Long2ObjectHashMap<Boolean> admins = new Long2ObjectHashMap<>();
        for (int n = 0; n < lines.size(); n++)
        {
            String line = lines.get(n);
            final int hash = line.indexOf('#');
            line = (hash >= 0 ? line.substring(0, hash) : line).trim();
            if (line.isEmpty())
            {
                continue;
            }
            final String where = source + " line " + (n + 1);
            final int eq = line.indexOf('=');
            if (eq <= 0)
            {
                throw new IllegalArgumentException(where + ": expected name = value");
            }
            final String name = line.substring(0, eq).trim();
            final String value = line.substring(eq + 1).trim();
            final String[] parts = name.split("\\.");
            if (parts.length < 3 || !parts[0].equals("client"))
            {
                throw new IllegalArgumentException(where + ": unknown setting " + name + " (expected client.ID.key.N or client.ID.admin)");
            }
            final long client = parseClientId(parts[1], where + ": " + name);
            if (parts.length == 4 && parts[2].equals("key"))
            {
                final int keyId = ClusterKeys.parseId(parts[3], where + ": " + name);
                ids.computeIfAbsent(client, c -> new ArrayList<>()).add(new int[]{keyId});
                secrets.computeIfAbsent(client, c -> new ArrayList<>()).add(ClusterKeys.parseHex(value, where + ": " + name));
            }
            else if (parts.length == 3 && parts[2].equals("admin"))
            {
                if (!value.equals("true") && !value.equals("false"))
                {
                    throw new IllegalArgumentException(where + ": " + name + "=" + value + " must be true or false");
                }
                admins.put(client, Boolean.valueOf(value));
            }
            else
            {
                throw new IllegalArgumentException(where + ": unknown setting " + name + " (expected client.ID.key.N or client.ID.admin)");
            }
        }
        final Long2ObjectHashMap<ClusterKeys> keys = new Long2ObjectHashMap<>();
        for (final Map.Entry<Long, List<int[]>> e : ids.entrySet())
        {
            final List<int[]> idList = e.getValue();
            final int[] keyIds = new int[idList.size()];
            int highest = 0;
            for (int i = 0; i < keyIds.length; i++)
            {
                keyIds[i] = idList.get(i)[0];
                highest = Math.max(highest, keyIds[i]);
            }
            // The node answers with the key a request was signed with: which key "signs" does not matter here.
            keys.put(e.getKey(), new ClusterKeys(source + ": client." + e.getKey(), keyIds,
                secrets.get(e.getKey()).toArray(new byte[0][]), highest));
        }
        for (final long client : admins.keySet())
        {
            if (!keys.containsKey(client))
            {
                throw new IllegalArgumentException(source + ": client." + client + ".admin is set, and client " + client + " has no key");
            }
        }
        if (keys.isEmpty())
        {
            throw new IllegalArgumentException(source + ": no client.ID.key.N line");
        }
        return new ClientCredentials(source, keys, admins);
    }

    /**
     * Reads a credentials file, to be read again when it changes.
     *
     * @param file the file
     * @return the watched file, holding its credentials
     * @throws IllegalArgumentException naming the file and the line (never a key) if it cannot be
     *                                  read or breaks a rule
     */
    public static WatchedFile<ClientCredentials> watch(final Path file)
    {
        return WatchedFile.load(file, "credentials file", ClientCredentials::load, ClientCredentials::sameAs);
    }

    /**
     * @param clientId a client id
     * @return its keys, or null if the file does not list it
     */
    public ClusterKeys keysOf(final long clientId)
    {
        return keys.get(clientId);
    }

    /**
     * @param clientId a client id
     * @return true if the client may use the admin protocol
     */
    public boolean isAdmin(final long clientId)
    {
        return Boolean.TRUE.equals(admins.get(clientId));
    }

    /** @return how many clients the file lists */
    public int size()
    {
        return keys.size();
    }

    /** @return where the credentials come from */
    public String source()
    {
        return source;
    }

    /** @return true if the same clients, keys and permissions */
    boolean sameAs(final ClientCredentials other)
    {
        if (other == null || other.keys.size() != keys.size() || !other.admins.equals(admins))
        {
            return false;
        }
        for (final Long2ObjectHashMap<ClusterKeys>.EntryIterator it = keys.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            final ClusterKeys theirs = other.keys.get(it.getLongKey());
            if (!it.getValue().sameAs(theirs))
            {
                return false;
            }
        }
        return true;
    }

    private static long parseClientId(final String text, final String where)
    {
        try
        {
            final long id = Long.parseLong(text);
            if (id > 0)
            {
                return id;
            }
        }
        catch (final NumberFormatException ignored)
        {
            // reported below
        }
        throw new IllegalArgumentException(where + ": " + text + " is not a client id from 1 to " + Long.MAX_VALUE);
    }

    @Override
    public String toString()
    {
        final long[] ids = new long[keys.size()];
        int n = 0;
        for (final long id : keys.keySet())
        {
            ids[n++] = id;
        }
        Arrays.sort(ids);
        return "ClientCredentials{" + source + ", clients=" + Arrays.toString(ids) + "}";
    }
}
