package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OffersTest
{
    private static final int MESSAGES = 5_000;

    /** Through a 64 KiB term, 5,000 messages of 100 bytes rotate the log about ten times. */
    @Test
    void aMessageThatMeetsTheEndOfATermIsOfferedAgainAtOnce()
    {
        try (EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(0, 64 * 1024, false);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())))
        {
            assertEquals(0, offerAll(aeron, 11, false), "every message taken at the first call of Offers.offer");
            assertTrue(offerAll(aeron, 12, true) > 0, "a plain offer meets the term's end (so the test crosses terms)");
        }
    }

    /** @return how many offers answered ADMIN_ACTION */
    private static int offerAll(final Aeron aeron, final int streamId, final boolean plain)
    {
        final String channel = "aeron:ipc?term-length=64k";
        try (Subscription subscription = aeron.addSubscription(channel, streamId);
            ExclusivePublication publication = aeron.addExclusivePublication(channel, streamId))
        {
            while (!publication.isConnected())
            {
                Thread.onSpinWait();
            }
            final UnsafeBuffer message = new UnsafeBuffer(new byte[100]);
            final int[] received = {0};
            int adminActions = 0;
            for (int i = 0; i < MESSAGES; i++)
            {
                message.putInt(0, i);
                long result;
                while (true)
                {
                    result = plain ? publication.offer(message, 0, 100) : Offers.offer(publication, message, 0, 100);
                    if (result == Publication.ADMIN_ACTION)
                    {
                        adminActions++;
                        if (plain)
                        {
                            continue; // what a caller of a plain offer must do itself
                        }
                    }
                    if (result != Publication.BACK_PRESSURED)
                    {
                        break;
                    }
                    subscription.poll((b, o, l, h) -> received[0]++, 100);
                }
                assertNotEquals(Publication.ADMIN_ACTION, result);
                assertTrue(result > 0, "offer " + i + ": " + result);
            }
            while (received[0] < MESSAGES)
            {
                subscription.poll((b, o, l, h) -> received[0]++, 100);
            }
            return adminActions;
        }
    }
}
