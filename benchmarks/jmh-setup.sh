# Sourced by the JMH scripts: compiles the benchmarks, writes their class path to an @argfile and opens
# benchmarks/results/$1-<UTC date and time>.txt with the machine and its load average ($out names it).
# The class path goes in an @argfile and JMH's forks get a class-path jar (-Djmh.separateClasspathJAR=true):
# ONNX Runtime 1.29's start-up (the plain ONNX Runtime baseline starts it on JMH's thread) needs stack in
# proportion to the command line, and this -cp is long.
jmh_setup() {
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    mvn -B -q -DskipTests test-compile
    mvn -B -q dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
    echo "-cp target/test-classes:target/classes:$(cat target/bench.classpath)" > target/bench.args
    mkdir -p benchmarks/results
    out="benchmarks/results/$1-$(date -u +%Y%m%d-%H%M)"
    echo "# $(date -u) | $(lscpu | sed -n 's/^Model name: *//p') | $(nproc) cores | load before: $load" | tee "$out.txt"
}
