package io.ringraft.transport.aeron;

import org.agrona.concurrent.IdleStrategy;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedMediaDriverTest
{
    @Test
    void aSharedDriverThreadIdlesWithTheGivenStrategyAndItsDirectoryGoesOnClose()
    {
        final AtomicLong idles = new AtomicLong();
        final IdleStrategy counting = new IdleStrategy()
        {
            @Override
            public void idle(final int workCount)
            {
                if (workCount <= 0)
                {
                    idle();
                }
            }

            @Override
            public void idle()
            {
                idles.incrementAndGet();
                LockSupport.parkNanos(100_000);
            }

            @Override
            public void reset()
            {
            }
        };
        final String dir;
        try (EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(0, 64 * 1024, false, counting))
        {
            dir = driver.aeronDirectoryName();
            assertNull(driver.invoker(), "a driver with its own thread has no invoker");
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (idles.get() == 0 && System.nanoTime() < deadline)
            {
                LockSupport.parkNanos(1_000_000);
            }
            assertTrue(idles.get() > 0, "the driver thread never idled with the given strategy");
            assertTrue(new File(dir).isDirectory());
        }
        assertFalse(new File(dir).exists(), dir + " left behind");
    }
}
