package io.ringraft.testkit.history;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates linearizable histories by construction: ops run one at a time against a model store, each at its own
 * linearization point, and each op's recorded interval is then stretched randomly around that point. Clients
 * run one op at a time. Every written value is unique, so a read names the write it saw.
 */
final class RandomHistories
{
    /** One generated op, before it is recorded in a {@link History}. */
    record Spec(
        int client,
        OpKind kind,
        String key,
        String value,
        String expected,
        String result,
        long invoke,
        long complete,
        Operation.Status status)
    {
    }

    private RandomHistories()
    {
    }

    /**
     * @param seed        drives every choice
     * @param opCount     how many ops
     * @param clients     how many clients, each running one op at a time
     * @param keys        how many keys
     * @param unknownRate the share of ops whose outcome is unknown (half of those writes take effect)
     * @param failRate    the share of ops that fail without effect
     * @param casRate     the share of ops that are CAS, half of them expecting the current value
     * @return the ops, in invocation order
     */
    static List<Spec> generate(
        final long seed,
        final int opCount,
        final int clients,
        final int keys,
        final double unknownRate,
        final double failRate,
        final double casRate)
    {
        final Random random = new Random(seed);
        final Map<String, String> store = new HashMap<>();
        final long[] clientFree = new long[clients];
        final List<Spec> specs = new ArrayList<>(opCount);
        final long stretch = 60;
        long now = stretch;
        int written = 0;
        while (specs.size() < opCount)
        {
            now += 1 + random.nextInt(5);
            final int first = random.nextInt(clients);
            int client = -1;
            for (int i = 0; i < clients && client < 0; i++)
            {
                if (clientFree[(first + i) % clients] < now)
                {
                    client = (first + i) % clients;
                }
            }
            if (client < 0)
            {
                continue;
            }
            final long invoke = Math.max(clientFree[client] + 1, now - random.nextInt((int)stretch));
            final long complete = now + random.nextInt((int)stretch);
            clientFree[client] = complete;

            final String key = "k" + random.nextInt(keys);
            final String current = store.get(key);
            final double roll = random.nextDouble();
            final Operation.Status status = roll < failRate ? Operation.Status.FAIL :
                roll < failRate + unknownRate ? Operation.Status.UNKNOWN : Operation.Status.OK;
            final boolean takesEffect = status == Operation.Status.OK ||
                status == Operation.Status.UNKNOWN && random.nextBoolean();

            final double kindRoll = random.nextDouble();
            final double writeShare = (1 - casRate) * 0.45;
            final Spec spec;
            if (kindRoll < writeShare)
            {
                final String value = "v" + written++;
                if (takesEffect)
                {
                    store.put(key, value);
                }
                spec = new Spec(client, OpKind.PUT, key, value, null, null, invoke, complete, status);
            }
            else if (kindRoll < (1 - casRate) * 0.9)
            {
                spec = new Spec(client, OpKind.GET, key, null, null, current, invoke, complete, status);
            }
            else if (kindRoll < 1 - (1 - casRate) * 0.1)
            {
                final String value = "v" + written++;
                final String expected = random.nextBoolean() ? current : random.nextBoolean() ? null : "v" +
                    random.nextInt(written);
                final boolean swaps = equal(current, expected);
                if (takesEffect && swaps)
                {
                    store.put(key, value);
                }
                spec = new Spec(client, OpKind.CAS, key, value, expected, Boolean.toString(swaps), invoke, complete, status);
            }
            else
            {
                if (takesEffect)
                {
                    store.remove(key);
                }
                spec = new Spec(client, OpKind.DELETE, key, null, null, null, invoke, complete, status);
            }
            specs.add(spec);
        }
        specs.sort((a, b) -> Long.compare(a.invoke(), b.invoke()));
        return specs;
    }

    /**
     * @param specs the ops to record, in the order given
     * @return a history holding them
     */
    static History record(final List<Spec> specs)
    {
        final History history = new History();
        for (final Spec spec : specs)
        {
            final int id = history.invoke(spec.client(), spec.kind(), spec.key(), spec.value(), spec.expected(), spec.invoke());
            switch (spec.status())
            {
                case OK -> history.ok(id, spec.result(), spec.complete());
                case FAIL -> history.fail(id, spec.complete());
                case UNKNOWN -> history.unknown(id);
                default ->
                {
                    // left pending
                }
            }
        }
        return history;
    }

    /**
     * Makes one ok read return a value it provably cannot see: one written by an ok PUT that an ok write
     * strictly after it overwrote, strictly before the read began.
     *
     * @return a copy of specs with one read corrupted, or {@code null} if no read qualifies
     */
    static List<Spec> corruptOneRead(final List<Spec> specs, final Random random)
    {
        final List<int[]> candidates = new ArrayList<>();
        for (int g = 0; g < specs.size(); g++)
        {
            final Spec read = specs.get(g);
            if (read.kind() != OpKind.GET || read.status() != Operation.Status.OK)
            {
                continue;
            }
            for (int p = 0; p < specs.size(); p++)
            {
                final Spec put = specs.get(p);
                if (put.kind() == OpKind.PUT && put.status() == Operation.Status.OK && put.key().equals(read.key()) &&
                    overwrittenBetween(specs, put, read))
                {
                    candidates.add(new int[]{g, p});
                }
            }
        }
        if (candidates.isEmpty())
        {
            return null;
        }
        final int[] chosen = candidates.get(random.nextInt(candidates.size()));
        final List<Spec> corrupted = new ArrayList<>(specs);
        final Spec read = specs.get(chosen[0]);
        corrupted.set(chosen[0], new Spec(read.client(), read.kind(), read.key(), read.value(), read.expected(),
            specs.get(chosen[1]).value(), read.invoke(), read.complete(), read.status()));
        return corrupted;
    }

    private static boolean overwrittenBetween(final List<Spec> specs, final Spec put, final Spec read)
    {
        for (final Spec write : specs)
        {
            final boolean writes = write.kind() == OpKind.PUT || write.kind() == OpKind.DELETE ||
                write.kind() == OpKind.CAS && "true".equals(write.result());
            if (writes && write.status() == Operation.Status.OK && write.key().equals(put.key()) &&
                write.invoke() > put.complete() && write.complete() < read.invoke())
            {
                return true;
            }
        }
        return false;
    }

    private static boolean equal(final String a, final String b)
    {
        return a == null ? b == null : a.equals(b);
    }
}
