package io.ringraft.server;

/**
 * A problem the {@code ringraft} command reports as one line naming the setting or argument at
 * fault, then exits with {@link #exitStatus()}.
 */
public final class CliException extends RuntimeException
{
    /** Exit status of bad usage or configuration. */
    public static final int USAGE = 2;
    /** Exit status of a check or operation that failed. */
    public static final int FAILED = 1;

    private final int exitStatus;

    /**
     * @param message the one line to print
     */
    public CliException(final String message)
    {
        this(USAGE, message);
    }

    /**
     * @param exitStatus the process exit status
     * @param message    the one line to print
     */
    public CliException(final int exitStatus, final String message)
    {
        super(message);
        this.exitStatus = exitStatus;
    }

    /** @return the process exit status */
    public int exitStatus()
    {
        return exitStatus;
    }
}
