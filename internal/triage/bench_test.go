package triage

import (
	"testing"
)

// BenchmarkTrain measures start-up training on the embedded training split.
func BenchmarkTrain(b *testing.B) {
	tax, err := DefaultTaxonomy()
	if err != nil {
		b.Fatal(err)
	}
	all, err := Examples()
	if err != nil {
		b.Fatal(err)
	}
	train := SplitOf(all, SplitTrain)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Train(tax, train); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassify measures offline triage throughput over the held-out reports.
func BenchmarkClassify(b *testing.B) {
	c, err := New()
	if err != nil {
		b.Fatal(err)
	}
	all, err := Examples()
	if err != nil {
		b.Fatal(err)
	}
	test := SplitOf(all, SplitTest)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Classify(test[i%len(test)].Text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
