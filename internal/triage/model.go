package triage

import (
	"math"
	"math/rand/v2"
)

// softmaxModel is a multinomial logistic regression over hashed n-gram features with
// binary values scaled to unit L2 norm. It is read-only after training.
type softmaxModel struct {
	k     int              // number of classes
	vocab map[uint64]int32 // feature hash → row
	w     []float32        // len(vocab)*k, row-major
	b     []float64        // k biases
}

// trainParams are the fixed hyper-parameters of training.
type trainParams struct {
	epochs int
	lr     float64 // initial learning rate
	l2     float64 // L2 penalty applied to the active rows at each step
	minDF  int32   // features in fewer training reports are dropped
	seed   uint64
}

func defaultTrainParams() trainParams {
	return trainParams{epochs: 8, lr: 8, l2: 1e-4, minDF: 1, seed: 20261128}
}

// urgencyParams are the parameters of the three-class urgency model: fewer classes and
// fewer epochs.
func urgencyParams(p trainParams) trainParams {
	p.epochs = 5
	return p
}

// sample is a training example in feature-row form.
type sample struct {
	rows []int32
	y    int
	n    int // number of features of the report, kept or not (for the 1/sqrt(n) value)
}

// trainSoftmax fits the model by stochastic gradient descent with a decaying rate. Each
// sample's features have the value 1/sqrt(n), so a sample's score is the sum of its rows
// scaled once; the update touches only the classes whose gradient is not negligible, and
// the L2 penalty is applied to the rows a sample touches (so frequent n-grams, place names
// and filler words among them, are held back most).
func trainSoftmax(feats [][]uint64, ys []int, k int, p trainParams) *softmaxModel {
	m := &softmaxModel{k: k, vocab: map[uint64]int32{}, b: make([]float64, k)}
	// With minDF > 1, features seen in fewer reports are left out (off by default: it did
	// not change held-out accuracy and costs a counting pass).
	var df map[uint64]int32
	if p.minDF > 1 {
		df = make(map[uint64]int32)
		for _, fs := range feats {
			for _, h := range fs {
				df[h]++
			}
		}
	}
	samples := make([]sample, len(feats))
	for i, fs := range feats {
		rows := make([]int32, 0, len(fs))
		for _, h := range fs {
			if df != nil && df[h] < p.minDF {
				continue
			}
			r, ok := m.vocab[h]
			if !ok {
				r = int32(len(m.vocab))
				m.vocab[h] = r
			}
			rows = append(rows, r)
		}
		samples[i] = sample{rows: rows, y: ys[i], n: len(fs)}
	}
	m.w = make([]float32, len(m.vocab)*k)
	rng := rand.New(rand.NewPCG(p.seed, p.seed+1))
	order := make([]int, len(samples))
	for i := range order {
		order[i] = i
	}
	probs := make([]float64, k)
	sum := make([]float32, k)
	grad := make([]float32, k)
	active := make([]int, 0, k)
	// easy marks samples the model already got right with a margin; they are visited only
	// every other epoch, which roughly halves training time for the same held-out accuracy.
	easy := make([]bool, len(samples))
	step := 0
	for ep := 0; ep < p.epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, idx := range order {
			s := samples[idx]
			if len(s.rows) == 0 || (easy[idx] && ep%2 == 1) {
				continue
			}
			lr := p.lr / (1 + 0.5*float64(step)/float64(len(samples)))
			step++
			x := 1 / math.Sqrt(float64(s.n))
			m.sumRows(s.rows, sum)
			for c := 0; c < k; c++ {
				probs[c] = m.b[c] + float64(sum[c])*x
			}
			softmaxInPlace(probs)
			easy[idx] = probs[s.y] > 0.98
			active = active[:0]
			for c := 0; c < k; c++ {
				g := probs[c]
				if c == s.y {
					g -= 1
				}
				m.b[c] -= lr * g * 0.1
				if g > 1e-4 || g < -1e-4 {
					active = append(active, c)
					grad[c] = float32(lr * g * x)
				}
			}
			decay := float32(1 - lr*p.l2)
			if len(active) == k {
				for _, r := range s.rows {
					row := m.w[int(r)*k : int(r)*k+k]
					row = row[:len(grad)]
					for c, w := range row {
						row[c] = w*decay - grad[c]
					}
				}
				continue
			}
			for _, r := range s.rows {
				row := m.w[int(r)*k : int(r)*k+k]
				for _, c := range active {
					row[c] = row[c]*decay - grad[c]
				}
			}
		}
	}
	return m
}

// sumRows adds up the weight rows into out (len(out) == m.k).
func (m *softmaxModel) sumRows(rows []int32, out []float32) {
	k := len(out)
	clear(out)
	for _, r := range rows {
		o := int(r) * k
		row := m.w[o : o+k : o+k]
		row = row[:len(out)]
		for c, w := range row {
			out[c] += w
		}
	}
}

// scoreRows writes the linear scores of the rows (each with value x) into out.
func (m *softmaxModel) scoreRows(rows []int32, x float64, out []float64) {
	sum := make([]float32, m.k)
	m.sumRows(rows, sum)
	for c := range out {
		out[c] = m.b[c] + float64(sum[c])*x
	}
}
func softmaxInPlace(v []float64) {
	mx := v[0]
	for _, x := range v[1:] {
		if x > mx {
			mx = x
		}
	}
	sum := 0.0
	for i, x := range v {
		v[i] = math.Exp(x - mx)
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}
