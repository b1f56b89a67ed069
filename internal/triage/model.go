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
	seed   uint64
}

func defaultTrainParams() trainParams {
	return trainParams{epochs: 8, lr: 8, l2: 1e-4, seed: 20261128}
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
}

// trainSoftmax fits the model by stochastic gradient descent with a decaying rate. Each
// sample's features have the value 1/sqrt(n), so a sample's score is the sum of its rows
// scaled once; the update touches only the classes whose gradient is not negligible, and
// the L2 penalty is applied to the rows a sample touches (so frequent n-grams, place names
// and filler words among them, are held back most).
func trainSoftmax(feats [][]uint64, ys []int, k int, p trainParams) *softmaxModel {
	m := &softmaxModel{k: k, vocab: map[uint64]int32{}, b: make([]float64, k)}
	samples := make([]sample, len(feats))
	for i, fs := range feats {
		rows := make([]int32, len(fs))
		for j, h := range fs {
			r, ok := m.vocab[h]
			if !ok {
				r = int32(len(m.vocab))
				m.vocab[h] = r
			}
			rows[j] = r
		}
		samples[i] = sample{rows: rows, y: ys[i]}
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
	step := 0
	for ep := 0; ep < p.epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, idx := range order {
			s := samples[idx]
			if len(s.rows) == 0 {
				continue
			}
			lr := p.lr / (1 + 0.5*float64(step)/float64(len(samples)))
			step++
			x := 1 / math.Sqrt(float64(len(s.rows)))
			m.sumRows(s.rows, sum)
			for c := 0; c < k; c++ {
				probs[c] = m.b[c] + float64(sum[c])*x
			}
			softmaxInPlace(probs)
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

// sumRows adds up the weight rows into out.
func (m *softmaxModel) sumRows(rows []int32, out []float32) {
	k := m.k
	for c := range out {
		out[c] = 0
	}
	out = out[:k]
	for _, r := range rows {
		row := m.w[int(r)*k : int(r)*k+k]
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
