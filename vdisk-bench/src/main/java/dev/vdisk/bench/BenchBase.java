package dev.vdisk.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Defaults every benchmark class inherits (JMH reads these annotations from superclasses): average
 * time in nanoseconds, one fork with the JVM flags of {@link BenchFlags}, and a full-run length.
 * The report's short preset overrides the iteration counts from the command line.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {
      BenchFlags.ADD_EXPORTS_REF,
      BenchFlags.ADD_EXPORTS_NIO,
      BenchFlags.ADD_EXPORTS_MISC,
      BenchFlags.ADD_EXPORTS_UNSAFE,
      BenchFlags.ADD_OPENS_LANG,
      BenchFlags.ADD_OPENS_REFLECT,
      BenchFlags.ADD_OPENS_IO,
      BenchFlags.ADD_OPENS_NIO,
      BenchFlags.ADD_OPENS_NIO_CH,
      BenchFlags.ADD_OPENS_UTIL,
      BenchFlags.NO_ANALYTICS,
      BenchFlags.QUIET_LOG,
      BenchFlags.IGNORE_UNKNOWN,
      BenchFlags.NATIVE_ACCESS,
      BenchFlags.UNSAFE_ACCESS,
      BenchFlags.HEAP_MIN,
      BenchFlags.HEAP_MAX
    })
public abstract class BenchBase {}
