package dev.vdisk.bench;

/**
 * JVM flags every forked benchmark JVM gets (through {@code @Fork(jvmArgsAppend = ...)}), so that
 * {@code java -jar benchmarks.jar} works without a launcher script. They mirror the parent POM's
 * {@code vdisk.jvm.flags}: Chronicle reads JDK internals, and its analytics must never phone home.
 * The heap is fixed so that a GC resize never lands inside a measurement.
 */
public final class BenchFlags {
  public static final String ADD_EXPORTS_REF =
      "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED";
  public static final String ADD_EXPORTS_NIO = "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED";
  public static final String ADD_EXPORTS_MISC =
      "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
  public static final String ADD_EXPORTS_UNSAFE =
      "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED";
  public static final String ADD_OPENS_LANG = "--add-opens=java.base/java.lang=ALL-UNNAMED";
  public static final String ADD_OPENS_REFLECT =
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED";
  public static final String ADD_OPENS_IO = "--add-opens=java.base/java.io=ALL-UNNAMED";
  public static final String ADD_OPENS_NIO = "--add-opens=java.base/java.nio=ALL-UNNAMED";
  public static final String ADD_OPENS_NIO_CH = "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED";
  public static final String ADD_OPENS_UTIL = "--add-opens=java.base/java.util=ALL-UNNAMED";
  public static final String NO_ANALYTICS = "-Dchronicle.analytics.disable=true";
  public static final String QUIET_LOG = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn";
  public static final String IGNORE_UNKNOWN = "-XX:+IgnoreUnrecognizedVMOptions";
  public static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
  public static final String UNSAFE_ACCESS = "--sun-misc-unsafe-memory-access=allow";
  public static final String HEAP_MIN = "-Xms512m";
  public static final String HEAP_MAX = "-Xmx512m";

  private BenchFlags() {}
}
