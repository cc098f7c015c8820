package io.ringraft.client;

/** The client could not connect (no leader answered in time, the session cap, bad settings). */
public final class ClientException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final int status;

    /**
     * @param status  the {@link ClientProtocol} status behind it, or -1
     * @param message what happened
     */
    public ClientException(final int status, final String message)
    {
        super(message);
        this.status = status;
    }

    /** @return the {@link ClientProtocol} status behind it, or -1 */
    public int status()
    {
        return status;
    }
}
