package io.ringraft.transport.aeron;

import java.nio.file.Path;

/**
 * The current {@link ClusterKeys} of a node, shared by the threads that sign and verify frames:
 * read from a key file, and read again when the file changes ({@link #reloadIfChanged}) or on
 * demand ({@link #reload}). A new file that is invalid is refused and the keys in use stay.
 * Thread-safe (a {@link WatchedFile}); {@link FrameAuthenticator}s pick the new keys up at their
 * next frame.
 */
public final class KeyRing
{
    private final WatchedFile<ClusterKeys> keys;

    private KeyRing(final WatchedFile<ClusterKeys> keys)
    {
        this.keys = keys;
    }

    /**
     * @param keys the keys, for a ring that never reloads
     */
    public KeyRing(final ClusterKeys keys)
    {
        this(WatchedFile.fixed(keys));
    }

    /**
     * @param file a key file (see {@link ClusterKeys})
     * @return a ring holding its keys
     * @throws IllegalArgumentException if the file cannot be read or is invalid
     */
    public static KeyRing load(final Path file)
    {
        return new KeyRing(WatchedFile.load(file, "key file", ClusterKeys::load, ClusterKeys::sameAs));
    }

    /** @return the keys in use */
    public ClusterKeys keys()
    {
        return keys.current();
    }

    /** @return the key file, or null */
    public Path file()
    {
        return keys.file();
    }

    /**
     * Reads the key file again and uses its keys.
     *
     * @return true if the keys changed
     * @throws IllegalArgumentException if the file cannot be read or is invalid (the keys in use stay)
     */
    public boolean reload()
    {
        return keys.reload();
    }

    /**
     * Reloads the file if its modification time changed, looking at most once per {@code intervalMillis}.
     *
     * @param nowMillis      the current time
     * @param intervalMillis how often to look
     * @return true if the keys changed
     * @throws IllegalArgumentException if the changed file is invalid (the keys in use stay)
     */
    public boolean reloadIfChanged(final long nowMillis, final long intervalMillis)
    {
        return keys.reloadIfChanged(nowMillis, intervalMillis);
    }

    @Override
    public String toString()
    {
        return "KeyRing{" + keys() + "}";
    }
}
