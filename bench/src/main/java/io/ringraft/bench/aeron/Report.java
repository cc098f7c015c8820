package io.ringraft.bench.aeron;

import org.HdrHistogram.Histogram;

/** One line per measurement, in microseconds, in the same columns for every Aeron benchmark. */
final class Report
{
    private Report()
    {
    }

    /**
     * @param title what was measured and with which settings
     * @return the title and the column names
     */
    static String header(final String title)
    {
        return "# " + title + System.lineSeparator() +
            String.format("%-28s %10s %9s %9s %9s %9s %9s %10s", "", "count", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "ops/s");
    }

    /**
     * @param label     the row's name
     * @param histogram latencies in nanoseconds
     * @return the row, without throughput
     */
    static String row(final String label, final Histogram histogram)
    {
        return row(label, histogram, Double.NaN);
    }

    /**
     * @param label      the row's name
     * @param histogram  latencies in nanoseconds
     * @param opsPerSec  throughput, or NaN
     * @return the row
     */
    static String row(final String label, final Histogram histogram, final double opsPerSec)
    {
        return String.format("%-28s %10d %9.1f %9.1f %9.1f %9.1f %9.1f %10s", label, histogram.getTotalCount(),
            micros(histogram.getValueAtPercentile(50)), micros(histogram.getValueAtPercentile(90)),
            micros(histogram.getValueAtPercentile(99)), micros(histogram.getValueAtPercentile(99.9)), micros(histogram.getMaxValue()),
            Double.isNaN(opsPerSec) ? "-" : String.format("%.0f", opsPerSec));
    }

    private static double micros(final long nanos)
    {
        return nanos / 1000.0;
    }
}
