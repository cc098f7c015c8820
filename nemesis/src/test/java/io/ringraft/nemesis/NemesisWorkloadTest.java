package io.ringraft.nemesis;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The workload replaces a client whose session closed in the cluster, and its logical clients go on with unique values. */
class NemesisWorkloadTest
{
    /** Answers everything at once; the first one's session closes after 30 operations (then it fails them, as a real one does). */
    private static final class FakeClient implements NemesisClient
    {
        private final List<Runnable> answers = new ArrayList<>();
        private final boolean closes;
        private int operations;

        FakeClient(final boolean closes)
        {
            this.closes = closes;
        }

        private void answer(final Callback callback, final String value)
        {
            final boolean closed = isSessionClosed();
            operations++;
            answers.add(() -> callback.onResult(closed ? new Result(Outcome.FAIL, null, "ABORTED session closed") :
                new Result(Outcome.OK, value, "OK")));
        }

        @Override
        public void put(final String key, final String value, final Callback callback)
        {
            answer(callback, null);
        }

        @Override
        public void get(final String key, final Callback callback)
        {
            answer(callback, null);
        }

        @Override
        public void cas(final String key, final String expected, final String value, final Callback callback)
        {
            answer(callback, "false");
        }

        @Override
        public int poll()
        {
            final List<Runnable> now = new ArrayList<>(answers);
            answers.clear();
            now.forEach(Runnable::run);
            return now.size();
        }

        @Override
        public boolean isSessionClosed()
        {
            return closes && operations >= 30;
        }

        @Override
        public void close()
        {
        }
    }

    @Test
    void aClientWhoseSessionClosedIsReplacedAndValuesStayUnique() throws Exception
    {
        final NemesisWorkload workload = new NemesisWorkload(2, 1, 4, 1, 3, System.nanoTime());
        final AtomicInteger made = new AtomicInteger();
        workload.start(() -> new FakeClient(made.getAndIncrement() == 0));
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (made.get() < 2 && System.nanoTime() < deadline)
        {
            Thread.sleep(10);
        }
        Thread.sleep(100);
        workload.stopAndJoin();
        assertEquals(1, workload.sessionsClosed().size(), workload.sessionsClosed().toString());
        assertTrue(workload.sessionsClosed().get(0).endsWith("(thread 0)"), workload.sessionsClosed().toString());
        final List<NemesisWorkload.Op> ops = workload.operations();
        final Set<String> values = new HashSet<>();
        long afterReplacement = 0;
        for (final NemesisWorkload.Op op : ops)
        {
            if (op.value() != null)
            {
                assertTrue(values.add(op.value()), "every value written once: " + op.value());
            }
            afterReplacement += op.result().outcome() == NemesisClient.Outcome.OK ? 1 : 0;
        }
        assertTrue(afterReplacement > 30, "the new client's operations succeed: " + afterReplacement + " of " + ops.size());
    }
}
