# ruff: noqa: RUF001 - the word lists are text in other scripts, full-width marks included
"""Built-in word lists for the synthetic corpus: per language, common words (most frequent
first, so that a Zipf draw over the list order looks like real text), hashtags, given names and
family names, cities, plus link domains and post sources shared by all languages.

Small on purpose: the generator needs plausible text, not a dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    """How one language posts: its words, hashtags, people and local time."""

    code: str
    share: float  # fraction of users writing in this language
    utc_offset_minutes: int  # where most of its writers live, for the daily cycle
    spaced: bool  # words separated by spaces (False for Japanese)
    words: tuple[str, ...]
    hashtags: tuple[str, ...]
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]
    # Romanised name parts for usernames (X usernames are ASCII letters, digits and "_").
    handles: tuple[str, ...]
    cities: tuple[str, ...]
    endings: tuple[str, ...]


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


LANGUAGES: tuple[Language, ...] = (
    Language(
        code="en",
        share=0.42,
        utc_offset_minutes=-300,
        spaced=True,
        words=_w(
            "the to and a of in is it you that for on this my with be are just have so "
            "not but was what all like we at me your can if out now up get about how one "
            "today love new time people good day know more when think really great going "
            "back one need want who see make still only never best game night week always "
            "thank life world work home happy first last right show music team season news "
            "city free live year watch feel better morning weekend coffee friends amazing "
            "tonight update open data launch market price vote police climate rain traffic "
            "movie book school kids dog cat food pizza football final goal win lost proud "
            "thread honestly literally everyone someone tomorrow yesterday finally waiting "
            "release support build code bug fix deploy server cloud phone app story photo"
        ),
        hashtags=_w(
            "news breaking AI tech NBA NFL WorldCup Election2026 climate music "
            "photography travel food fitness python opensource crypto bitcoin "
            "MondayMotivation ThrowbackThursday gaming F1 movies books science"
        ),
        given_names=_w(
            "James Mary Olivia Liam Emma Noah Ava Ethan Sophia Mason Mia Lucas Amelia "
            "Harper Logan Ella Jack Grace Chloe Daniel Zoe Ryan Nora Leo Ruby Owen"
        ),
        family_names=_w(
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark Walker "
            "Hall Young King Wright Scott Green Baker Adams Carter Turner Parker Evans"
        ),
        handles=_w(
            "james mary olivia liam emma noah ava ethan sophia mason mia lucas smith "
            "jones brown taylor clark king scott green baker carter turner parker"
        ),
        cities=(
            "New York, NY",
            "Los Angeles, CA",
            "Chicago, IL",
            "London, England",
            "Toronto, Ontario",
            "Austin, TX",
            "Sydney, Australia",
            "Seattle, WA",
            "Lagos, Nigeria",
            "Dublin, Ireland",
        ),
        endings=(".", "!", "", "?", "…", " 😂", " 🔥", "!!"),
    ),
    Language(
        code="es",
        share=0.12,
        utc_offset_minutes=-240,
        spaced=True,
        words=_w(
            "de la que el en y a los se del las un por con no una su para es al lo como "
            "más pero sus le ya o este sí porque esta entre cuando muy sin sobre también "
            "me hasta hay donde quien desde todo nos durante todos uno les ni contra otros "
            "hoy mañana noche día semana gracias amigos partido gol equipo música vida "
            "amor casa ciudad tiempo lluvia calor fútbol final victoria gobierno elecciones "
            "precio mercado noticias foto video película libro escuela trabajo feliz"
        ),
        hashtags=_w(
            "noticias fútbol LaLiga música política Madrid Barcelona México Argentina "
            "elecciones clima viernes felizlunes cine"
        ),
        given_names=_w(
            "Sofía Mateo Valentina Santiago Lucía Diego Camila Alejandro Martina Pablo "
            "Isabella Javier Elena Carlos María Andrés"
        ),
        family_names=_w(
            "García Martínez López Sánchez Pérez González Rodríguez Fernández Gómez Díaz "
            "Torres Ramírez Flores Ruiz"
        ),
        handles=_w(
            "sofia mateo valentina santi lucia diego camila ale martina pablo garcia "
            "lopez sanchez perez gonzalez torres flores ruiz"
        ),
        cities=(
            "Madrid, España",
            "Ciudad de México",
            "Buenos Aires, Argentina",
            "Bogotá, Colombia",
            "Barcelona",
            "Lima, Perú",
            "Santiago, Chile",
        ),
        endings=(".", "!", "", "…", " 😍", "!!", " jajaja"),
    ),
    Language(
        code="pt",
        share=0.09,
        utc_offset_minutes=-180,
        spaced=True,
        words=_w(
            "de a o que e do da em um para é com não uma os no se na por mais as dos como "
            "mas foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também "
            "só pelo pela até isso ela entre era depois sem mesmo aos ter seus hoje amanhã "
            "noite dia semana obrigado amigos jogo gol time música vida amor casa cidade "
            "tempo chuva calor futebol final vitória governo eleições preço mercado "
            "notícias foto vídeo filme livro escola trabalho feliz saudade galera"
        ),
        hashtags=_w(
            "futebol Brasileirão BBB música política SãoPaulo Flamengo Corinthians "
            "eleições notícias sextou"
        ),
        given_names=_w(
            "Ana João Maria Pedro Beatriz Lucas Gabriela Rafael Juliana Gustavo Larissa "
            "Felipe Mariana Bruno"
        ),
        family_names=_w(
            "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes "
            "Costa Ribeiro Martins Carvalho"
        ),
        handles=_w(
            "ana joao maria pedro bia lucas gabi rafa ju guga silva santos oliveira "
            "souza ferreira alves lima costa"
        ),
        cities=(
            "São Paulo, Brasil",
            "Rio de Janeiro",
            "Lisboa, Portugal",
            "Belo Horizonte",
            "Porto Alegre",
            "Recife",
        ),
        endings=(".", "!", "", "…", " kkkk", " 😂", "!!"),
    ),
    Language(
        code="ja",
        share=0.11,
        utc_offset_minutes=540,
        spaced=False,
        words=_w(
            "今日 明日 昨日 私 これ それ あれ ここ 本当に とても すごい 楽しい 嬉しい 悲しい "
            "ありがとう おはよう おやすみ ラーメン 寿司 猫 犬 電車 会社 仕事 学校 友達 家族 "
            "映画 音楽 ゲーム アニメ 漫画 写真 天気 雨 雪 桜 東京 大阪 週末 時間 新しい "
            "発表 ニュース 試合 優勝 応援 ライブ 配信 更新 最高 やばい 頑張る 食べた 見た "
            "行った 買った 作った 思う 感じ 気持ち 元気 大丈夫 疲れた 眠い 可愛い"
        ),
        hashtags=_w(
            "拡散希望 おはようVtuber 今日の一枚 アニメ 猫のいる暮らし 東京 ゲーム "
            "絵描きさんと繋がりたい"
        ),
        given_names=_w("陽翔 結衣 蓮 陽葵 湊 凛 大翔 さくら 悠真 葵 健太 美咲"),
        family_names=_w("佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤"),
        handles=_w(
            "haruto yui ren himari minato rin sakura yuma aoi kenta misaki sato "
            "suzuki takahashi tanaka ito watanabe yamamoto"
        ),
        cities=("東京都", "大阪府", "神奈川県", "北海道", "福岡県", "京都府", "Tokyo, Japan"),
        endings=("。", "！", "", "…", "w", "笑", "！！"),
    ),
    Language(
        code="fr",
        share=0.06,
        utc_offset_minutes=60,
        spaced=True,
        words=_w(
            "de la le et les des en un du une que est pour qui dans a par plus pas au sur "
            "ne se ce il sont avec mais on ou son nous aussi je tout bien fait comme très "
            "aujourd'hui demain soir jour semaine merci amis match but équipe musique vie "
            "amour maison ville temps pluie chaleur football finale victoire gouvernement "
            "élections prix marché nouvelles photo vidéo film livre école travail heureux "
            "vraiment enfin encore jamais toujours"
        ),
        hashtags=_w("Paris actualité football Ligue1 musique politique cinéma météo vendredi"),
        given_names=_w("Léa Hugo Chloé Louis Manon Gabriel Camille Jules Inès Arthur Zoé Théo"),
        family_names=_w(
            "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon"
        ),
        handles=_w(
            "lea hugo chloe louis manon gabriel camille jules ines arthur martin "
            "bernard dubois thomas robert petit durand moreau"
        ),
        cities=("Paris, France", "Lyon", "Marseille", "Montréal, Québec", "Bruxelles", "Lille"),
        endings=(".", " !", "", "…", " 😅", " ?"),
    ),
    Language(
        code="de",
        share=0.06,
        utc_offset_minutes=60,
        spaced=True,
        words=_w(
            "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine "
            "als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch "
            "wie einem über so zum war haben nur oder aber vor zur bis mehr durch heute "
            "morgen abend tag woche danke freunde spiel tor mannschaft musik leben liebe "
            "haus stadt zeit regen sonne fußball finale sieg regierung wahlen preis markt "
            "nachrichten foto video film buch schule arbeit glücklich endlich wirklich"
        ),
        hashtags=_w("Bundesliga Berlin Nachrichten Politik Fußball Musik Wetter Tatort"),
        given_names=_w("Lukas Mia Leon Emma Finn Hannah Paul Lena Jonas Marie Felix Anna"),
        family_names=_w(
            "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch"
        ),
        handles=_w(
            "lukas mia leon emma finn hannah paul lena jonas marie felix mueller "
            "schmidt schneider fischer weber meyer wagner becker"
        ),
        cities=("Berlin, Deutschland", "München", "Hamburg", "Köln", "Wien, Österreich", "Zürich"),
        endings=(".", "!", "", "…", " 🙈", "?"),
    ),
    Language(
        code="ar",
        share=0.07,
        utc_offset_minutes=180,
        spaced=True,
        words=_w(
            "في من على أن إلى عن مع هذا هذه كان التي الذي كل لا ما هو هي بعد قبل اليوم "
            "غدا الليلة صباح الخير شكرا جدا الله الحمد أصدقاء مباراة هدف فريق موسيقى حياة "
            "حب بيت مدينة وقت مطر حر كرة القدم النهائي فوز الحكومة انتخابات سعر سوق أخبار "
            "صورة فيديو فيلم كتاب مدرسة عمل سعيد جميل رائع جديد أول آخر الناس العالم"
        ),
        hashtags=_w("عاجل السعودية مصر الرياض كرة_القدم أخبار رمضان دبي"),
        given_names=_w("محمد فاطمة أحمد مريم علي نور عمر سارة يوسف ليلى خالد هدى"),
        family_names=_w("العلي الحسن الأحمد السعيد المصري الشمري القحطاني العتيبي"),
        handles=_w(
            "mohammed fatima ahmed maryam ali nour omar sara youssef layla khaled "
            "huda alali alhassan alsaeed alshammari"
        ),
        cities=("الرياض", "القاهرة", "دبي", "جدة", "الكويت", "عمّان", "Casablanca"),
        endings=("", ".", "!", "؟", " 🤍", "…"),
    ),
    Language(
        code="hi",
        share=0.07,
        utc_offset_minutes=330,
        spaced=True,
        words=_w(
            "है के में की और को से का एक यह पर नहीं भी हैं था कि हम आज कल रात दिन सप्ताह "
            "धन्यवाद दोस्त मैच टीम संगीत जीवन प्यार घर शहर समय बारिश गर्मी क्रिकेट फाइनल "
            "जीत सरकार चुनाव कीमत बाजार खबर फोटो वीडियो फिल्म किताब स्कूल काम खुश बहुत "
            "अच्छा नया पहला सब लोग देश भारत जय"
        ),
        hashtags=_w("भारत क्रिकेट IPL बॉलीवुड मुंबई दिल्ली खबर चुनाव"),
        given_names=_w("आरव अनन्या विवान दिया अर्जुन प्रिया रोहन पूजा कबीर नेहा"),
        family_names=_w("शर्मा वर्मा गुप्ता सिंह कुमार पटेल यादव जोशी"),
        handles=_w(
            "aarav ananya vivaan diya arjun priya rohan pooja kabir neha sharma "
            "verma gupta singh kumar patel yadav joshi"
        ),
        cities=("मुंबई", "नई दिल्ली", "बेंगलुरु", "Mumbai, India", "Jaipur", "लखनऊ"),
        endings=("", "।", "!", " 🙏", "…"),
    ),
)

LINK_DOMAINS: tuple[str, ...] = (
    "example.com",
    "news.example.org",
    "blog.example.net",
    "youtube.com",
    "github.com",
    "nytimes.com",
    "bbc.co.uk",
    "elpais.com",
    "lemonde.fr",
    "spiegel.de",
    "nhk.or.jp",
    "globo.com",
    "aljazeera.net",
    "ndtv.com",
    "medium.com",
    "substack.com",
)

SOURCES: tuple[str, ...] = (
    "Twitter for iPhone",
    "Twitter for Android",
    "Twitter Web App",
    "TweetDeck",
    "Twitter for iPad",
    "Buffer",
    "Hootsuite Inc.",
)

CASHTAGS: tuple[str, ...] = ("AAPL", "TSLA", "NVDA", "MSFT", "AMZN", "BTC", "ETH", "GOOG")

EMOJI: tuple[str, ...] = ("😂", "❤️", "🔥", "🙏", "😭", "👀", "✨", "🎉", "👏", "💯")

# Posts per local hour of day (0-23): quiet at night, rising through the day, peak in the
# evening. Relative weights; only their ratios matter.
DAILY_CYCLE: tuple[float, ...] = (
    3.0, 2.0, 1.3, 1.0, 1.0, 1.3, 2.2, 3.5, 4.5, 5.0, 5.3, 5.6,
    6.0, 6.2, 6.4, 6.6, 7.0, 7.6, 8.4, 9.2, 9.6, 9.0, 7.2, 4.8,
)  # fmt: skip
