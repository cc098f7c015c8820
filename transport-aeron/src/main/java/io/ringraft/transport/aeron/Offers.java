package io.ringraft.transport.aeron;

import io.aeron.Publication;
import org.agrona.DirectBuffer;

/**
 * Offering to an Aeron publication the way every ringraft sender does: a message that met the end of a term
 * ({@link Publication#ADMIN_ACTION}: the log rotated, nothing is wrong) is offered again at once, as Aeron asks,
 * rather than reported as back-pressure: with small messages a term rotates every few thousand of them, and a
 * sender that waits (a duty cycle, a backlog's next flush) after each rotation adds that wait to every message
 * behind it.
 */
public final class Offers
{
    private Offers()
    {
    }

    /**
     * @param publication the publication
     * @param buffer      the message
     * @param offset      where it starts
     * @param length      its length
     * @return the new position (positive) or Aeron's negative outcome other than a first {@code ADMIN_ACTION}
     */
    public static long offer(final Publication publication, final DirectBuffer buffer, final int offset, final int length)
    {
        final long result = publication.offer(buffer, offset, length);
        return result == Publication.ADMIN_ACTION ? publication.offer(buffer, offset, length) : result;
    }
}
