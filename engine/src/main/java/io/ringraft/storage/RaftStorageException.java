package io.ringraft.storage;

/**
 * A storage failure the node cannot work around: an I/O error, corruption, or an inconsistent
 * set of files. The message names the file and the index where it applies.
 */
public class RaftStorageException extends RuntimeException
{
    public RaftStorageException(final String message)
    {
        super(message);
    }

    public RaftStorageException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
